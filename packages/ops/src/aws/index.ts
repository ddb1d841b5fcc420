// Entry point `@airl/ops/aws`: checks of the ElastiCache setup through the AWS SDK v3.
export { type AwsCheckOptions, type AwsCheckReport, runAwsChecks } from './checks';
export { awsCheckMain, USAGE as AWS_CHECK_USAGE } from './main';
