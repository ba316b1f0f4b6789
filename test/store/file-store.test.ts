import { storeConformance } from './conformance.js';
import { fileBackend } from './file-backend.js';

storeConformance('file', fileBackend);
