import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { engine } from 'express-handlebars';

/**
 * The benchmark's yardstick: plain Express 5 + express-handlebars rendering a page with a
 * 50-row table from memory (no session, no database, no i18n), in production mode (view
 * cache on). bench/run.ts starts it as a child process with PORT set and divides each
 * register scenario's throughput by this one's.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const app = express();
app.engine('hbs', engine({ extname: '.hbs', defaultLayout: 'main', layoutsDir: path.join(here, 'views/layouts') }));
app.set('view engine', 'hbs');
app.set('views', path.join(here, 'views'));
app.set('view cache', true);
app.disable('x-powered-by');

const CITIES = ['Goslar', 'Bad Harzburg', 'Clausthal-Zellerfeld', 'Seesen', 'Langelsheim'];
const rows = Array.from({ length: 50 }, (_, i) => ({
  id: i + 1,
  memberNo: `M-${String(i + 1).padStart(4, '0')}`,
  legalName: `Harzer Spezialchemie ${i + 1} GmbH & Co. KG`,
  postcode: '38640',
  city: CITIES[i % CITIES.length],
  category: i % 3 ? 'Unternehmen' : 'Forschungseinrichtung',
  status: 'aktiv',
  joinDate: `01.0${(i % 9) + 1}.20${String(10 + (i % 15))}`,
}));

app.get('/', (_req, res) => {
  res.render('baseline', { title: 'Mitglieder', total: 100_000, rows, last: rows[rows.length - 1].id });
});

const port = Number(process.env.PORT ?? 0);
const server = http.createServer(app);
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  console.log(`baseline listening on ${typeof a === 'object' && a ? a.port : port} (NODE_ENV=${process.env.NODE_ENV ?? ''})`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
