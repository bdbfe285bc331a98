#!/usr/bin/env node
// Copies the files tsc does not emit (the dashboard page's HTML, JavaScript and CSS) from src/
// into dist/src/, so the package ships them. Run by `npm run build` after tsc.
import { cpSync } from 'node:fs';

cpSync('src/dashboard/static', 'dist/src/dashboard/static', { recursive: true });
