/**
 * What a token or a signed URL leaves in text — a JWT (header.payload…), an OAuth
 * field, the CDN's `sig` query parameter — for checks that an event or a message
 * carries none. Not any "eyJ" or "sig=": recording ids are random base64 and may hold
 * those letters (one ending "sig==" once failed CI).
 */
export const SECRET_TRACES = /eyJ[\w-]{4,}\.[\w-]{4,}|access_token|[?&]sig=/;
