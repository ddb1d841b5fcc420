// `cdk synth` runs this (see cdk.json). Offline: no lookups, no credentials.
import { App } from 'aws-cdk-lib';

import { buildApp } from '../src/app';

const app = new App({ analyticsReporting: false });
buildApp(app);
app.synth();
