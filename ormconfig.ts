import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { databaseOptions } from './src/config/database.options.js';
import { validateEnv } from './src/config/env.js';

// The migration CLI reads the same .env and the same validated variables as the app.
if (existsSync('.env')) process.loadEnvFile('.env');

export default new DataSource(databaseOptions(validateEnv(process.env)));
