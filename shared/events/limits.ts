/**
 * Size budget of one event detail. EventBridge refuses entries over 256 KB (detail,
 * detail-type, source and resources together); we keep a margin for those and
 * publish the same sizes on the in-process bus, so both runtimes split alike.
 */
export const MAX_DETAIL_BYTES = 240 * 1024;
