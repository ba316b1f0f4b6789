import { storeConformance } from './conformance.js';
import { postgresBackend } from './postgres-backend.js';

storeConformance('postgres', postgresBackend);
