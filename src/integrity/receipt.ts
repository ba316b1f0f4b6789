/**
 * Offline receipts (docs/receipts.md): one record's inclusion in a channel's tree, as a
 * c2sp.org/tlog-proof document that anyone can check with the log's public key (and witnesses'
 * keys) alone. The format (make, parse) is in receipt-format.ts, the check in receipt-verify.ts.
 */
export {
  MAX_RECEIPT_BYTES,
  RECEIPT_HEADER,
  RECEIPT_VERSION,
  makeReceipt,
  parseReceipt,
  type MakeReceiptInput,
  type Receipt,
} from './receipt-format.js';
export { verifyReceipt, type ReceiptCheck, type VerifyReceiptOptions } from './receipt-verify.js';
