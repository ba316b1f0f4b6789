/**
 * Key-name rules: what a field's name says about its value, case- and separator-insensitive
 * (`Client-Secret`, `client_secret`, `clientSecret` are one name), at any depth.
 */

/** What to do with a value. */
export type Mode = 'remove' | 'mask' | 'encrypt' | 'identifier' | 'keep';

export interface KeyRule {
  readonly mode: Mode;
  /** Shown in the replacement (`[REDACTED:password]`) or the placeholder (`[email#1]`). */
  readonly name: string;
  /** Where the rule comes from: `built-in` or `config`. */
  readonly source: 'built-in' | 'config';
}

/** `Client-Secret` → `clientsecret`. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[\s_.-]/g, '');
}

const rule = (mode: Mode, name: string): KeyRule => ({ mode, name, source: 'built-in' });

/** Exact (normalized) key names. */
export const BUILT_IN_KEYS: ReadonlyMap<string, KeyRule> = new Map<string, KeyRule>([
  // Secrets: removed.
  ...[
    'password',
    'passwd',
    'pwd',
    'pass',
    'passphrase',
    'secret',
    'clientsecret',
    'token',
    'accesstoken',
    'refreshtoken',
    'idtoken',
    'authtoken',
    'apikey',
    'xapikey',
    'apisecret',
    'authorization',
    'proxyauthorization',
    'cookie',
    'cookies',
    'setcookie',
    'session',
    'sessionid',
    'sessiontoken',
    'privatekey',
    'secretkey',
    'secretaccesskey',
    'awssecretaccesskey',
    'otp',
    'totp',
    'mfacode',
    'csrf',
    'csrftoken',
    'xcsrftoken',
    'xsrftoken',
    'xxsrftoken',
    'credentials',
    'credential',
    'connectionstring',
    'signature',
    'encryptionkey',
    'masterkey',
    'sshkey',
    'jwt',
    'bearer',
  ].map(
    (k) =>
      [k, rule('remove', k === 'pass' || k === 'passwd' || k === 'pwd' ? 'password' : k)] as const,
  ),
  // Payment: the card number keeps its last 4 digits; codes are removed.
  ...['cardnumber', 'creditcard', 'creditcardnumber', 'ccnumber', 'cardno', 'cardnum', 'pan'].map(
    (k) => [k, rule('mask', 'card')] as const,
  ),
  ...['cvv', 'cvv2', 'cvc', 'cvc2', 'securitycode', 'pin', 'pincode'].map(
    (k) => [k, rule('remove', 'card_code')] as const,
  ),
  // Health and other special categories (GDPR art. 9): removed.
  ...[
    'health',
    'healthdata',
    'medical',
    'medicalrecord',
    'diagnosis',
    'diagnoses',
    'disease',
    'illness',
    'treatment',
    'medication',
    'medications',
    'prescription',
    'allergy',
    'allergies',
    'disability',
    'bloodtype',
    'pregnancy',
    'mentalhealth',
    'symptoms',
  ].map((k) => [k, rule('remove', 'health')] as const),
  ...[
    'genetic',
    'geneticdata',
    'biometric',
    'biometrics',
    'religion',
    'ethnicity',
    'race',
    'politicalopinion',
    'politicalopinions',
    'unionmembership',
    'tradeunion',
    'sexualorientation',
  ].map((k) => [k, rule('remove', 'special_category')] as const),
  // Personal data: encrypted under the subject's key.
  ...['email', 'emailaddress', 'mail', 'useremail'].map(
    (k) => [k, rule('encrypt', 'email')] as const,
  ),
  ...['phone', 'phonenumber', 'mobile', 'mobilephone', 'tel', 'telephone', 'cellphone'].map(
    (k) => [k, rule('encrypt', 'phone')] as const,
  ),
  ...[
    'ip',
    'ipaddress',
    'clientip',
    'remoteip',
    'remoteaddr',
    'remoteaddress',
    'xforwardedfor',
    'xrealip',
    'sourceip',
  ].map((k) => [k, rule('encrypt', 'ip')] as const),
  ...[
    'firstname',
    'lastname',
    'fullname',
    'surname',
    'givenname',
    'familyname',
    'displayname',
    'username',
    'login',
    'prenom',
    'nom',
  ].map((k) => [k, rule('encrypt', 'name')] as const),
  ...['address', 'streetaddress', 'street', 'postaladdress', 'homeaddress'].map(
    (k) => [k, rule('encrypt', 'address')] as const,
  ),
  ...['birthdate', 'dateofbirth', 'dob', 'birthday'].map(
    (k) => [k, rule('encrypt', 'birthdate')] as const,
  ),
  ...[
    'nir',
    'ssn',
    'socialsecuritynumber',
    'nationalid',
    'passport',
    'passportnumber',
    'idcard',
    'taxid',
  ].map((k) => [k, rule('encrypt', 'national_id')] as const),
  ...['iban', 'bankaccount', 'accountnumber'].map((k) => [k, rule('encrypt', 'iban')] as const),
  ...['geolocation', 'latitude', 'longitude', 'gps'].map(
    (k) => [k, rule('encrypt', 'location')] as const,
  ),
  // Identifiers of people: replaced by that person's pseudonym.
  ...[
    'userid',
    'customerid',
    'memberid',
    'accountid',
    'employeeid',
    'personid',
    'subjectid',
    'uid',
  ].map((k) => [k, rule('identifier', 'id')] as const),
]);

/** Suffixes that make any key a secret (`db_password`, `githubToken`, `stripe-secret`). */
export const SECRET_SUFFIXES: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'accesskey',
  'secretkey',
  'sessionid',
  'cookie',
];

/** The rule for a key name, from exact names, then secret suffixes; undefined when none. */
export function builtInRule(normalized: string): KeyRule | undefined {
  const exact = BUILT_IN_KEYS.get(normalized);
  if (exact !== undefined) return exact;
  for (const suffix of SECRET_SUFFIXES) {
    if (normalized.length > suffix.length && normalized.endsWith(suffix))
      return rule('remove', suffix);
  }
  return undefined;
}
