import '../src/sdk-node-warning.js';
import { workerAwsEndpoint } from './support/aws-endpoint.js';

// The AWS SDK reads these itself, as it would in production: every test's AWS calls go to this
// worker's emulator.
const endpoint = workerAwsEndpoint();
process.env.AWS_ENDPOINT_URL = endpoint;
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
