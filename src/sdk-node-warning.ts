/**
 * Imported first by each entry point (`npm start`, setup, audit, doctor): switches off the AWS
 * SDK's nine-line Node-version warning for this process, unless the environment already sets
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED. The bot says it in one line of its own
 * (src/node-support.ts). The SDK reads the variable when its first client is built, so it only
 * has to be set before that; importing this first keeps that true whatever the entry point builds.
 *
 * The one module besides src/config.ts that touches process.env, and only to write: it runs before
 * any configuration is read (an import has no config to be given), and the variable it sets is the
 * SDK's own, read by the SDK, never by the bot.
 */
import { silenceSdkNodeWarning } from './node-support.js';

silenceSdkNodeWarning(process.env);
