/**
 * The towns of the Goslar district, for the directory's map (an SVG drawn here, no external tiles)
 * and as suggestions on the profile form. Coordinates in degrees (WGS 84), rounded; the outline
 * is a schematic sketch of the district's border, not a survey.
 */
export interface Town { name: string; lat: number; lon: number }

export const DISTRICT_TOWNS: readonly Town[] = [
  { name: 'Goslar', lat: 51.906, lon: 10.429 },
  { name: 'Bad Harzburg', lat: 51.883, lon: 10.562 },
  { name: 'Clausthal-Zellerfeld', lat: 51.81, lon: 10.337 },
  { name: 'Seesen', lat: 51.891, lon: 10.178 },
  { name: 'Langelsheim', lat: 51.938, lon: 10.336 },
  { name: 'Braunlage', lat: 51.726, lon: 10.61 },
  { name: 'Liebenburg', lat: 52.02, lon: 10.433 },
  { name: 'Vienenburg', lat: 51.953, lon: 10.561 },
  { name: 'Oker', lat: 51.911, lon: 10.481 },
  { name: 'Schladen-Werla', lat: 52.022, lon: 10.536 },
  { name: 'Hornburg', lat: 52.03, lon: 10.605 },
  { name: 'Altenau', lat: 51.801, lon: 10.446 },
  { name: 'Sankt Andreasberg', lat: 51.711, lon: 10.517 },
  { name: 'Lutter am Barenberge', lat: 51.987, lon: 10.265 },
  { name: 'Hahnenklee', lat: 51.856, lon: 10.339 },
];

const OUTLINE: readonly [number, number][] = [
  [52.075, 10.52], [52.06, 10.63], [51.99, 10.64], [51.9, 10.645], [51.8, 10.66], [51.7, 10.63], [51.68, 10.55], [51.7, 10.48],
  [51.77, 10.4], [51.78, 10.3], [51.84, 10.22], [51.86, 10.12], [51.93, 10.1], [51.97, 10.18], [52.0, 10.25], [52.04, 10.37], [52.07, 10.44],
];

const LAT_MAX = 52.09;
const LAT_MIN = 51.66;
const LON_MIN = 10.08;
const LON_MAX = 10.68;
const COS = Math.cos((51.88 * Math.PI) / 180);
export const MAP_WIDTH = 400;
const K = MAP_WIDTH / ((LON_MAX - LON_MIN) * COS);
export const MAP_HEIGHT = Math.round((LAT_MAX - LAT_MIN) * K);

/** The point on the map of a coordinate, in the SVG's units. */
export function project(lat: number, lon: number): { x: number; y: number } {
  return { x: Math.round((lon - LON_MIN) * COS * K * 10) / 10, y: Math.round((LAT_MAX - lat) * K * 10) / 10 };
}

/** The district's outline as an SVG path. */
export function outlinePath(): string {
  return OUTLINE.map(([lat, lon], i) => {
    const p = project(lat, lon);
    return `${i ? 'L' : 'M'}${p.x} ${p.y}`;
  }).join(' ') + ' Z';
}

const key = (s: string) => s.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').replace(/^st\.? /, 'sankt ').trim();

/** The district town a typed town name means ("Goslar-Oker" and "Oker" are both Oker), if any. */
export function districtTown(name: string): Town | undefined {
  const k = key(name);
  if (!k) return undefined;
  return DISTRICT_TOWNS.find((t) => key(t.name) === k) ?? DISTRICT_TOWNS.find((t) => k.endsWith(key(t.name)) || k.startsWith(key(t.name) + ' '));
}
