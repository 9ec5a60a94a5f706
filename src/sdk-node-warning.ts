/**
 * Imported first by each entry point (`npm start`, setup, audit, doctor): switches off the AWS
 * SDK's nine-line Node-version warning for this process, unless the environment already sets
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED. The bot says it in one line of its own
 * (src/node-support.ts). The SDK reads the variable when its first client is built, so it only
 * has to be set before that; importing this first keeps that true whatever the entry point builds.
 */
import { silenceSdkNodeWarning } from './node-support.js';

silenceSdkNodeWarning(process.env);
