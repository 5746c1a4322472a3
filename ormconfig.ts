import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { databaseOptions } from './src/database/database.options.js';
import { validateEnv } from './src/config/env.js';
import { AppDataSource } from './src/database/app-data-source.js';
import { entities } from './src/entities.js';

// The migration CLI reads the same .env and the same validated variables as the app.
if (existsSync('.env')) process.loadEnvFile('.env');

export default new AppDataSource(
  databaseOptions(validateEnv(process.env), entities),
);
