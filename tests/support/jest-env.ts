// Tests assert on behaviour, not on log output: keep the structured logger quiet
// unless a run asks for it (LOG_LEVEL=DEBUG npx jest ...).
process.env.LOG_LEVEL ??= 'SILENT';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
