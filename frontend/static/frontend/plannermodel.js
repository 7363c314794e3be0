// Data module of the planner page: the coverage version being looked at or edited, held as plain
// data (zones with their cell ids, the draft revision, the last validation, the marked cells).
// No DOM, no Leaflet, no fetch: planner.js feeds it answers of the planning API.

export const COMPREHENSIVE = "comprehensive";

export class PlanModel {
  constructor() {
    this.version = null;
    this.zones = new Map(); // id → {id, name, domain, team: {code, name, kind}, cells: Set<id>}
    this.cellIdByCode = new Map();
    this.cellCodeById = new Map();
    this.validation = null; // {ok, gaps: [{cell, domain, zones, detail}], overlaps: [...]}
    this.marks = new Set();
    this.stale = null; // the current revision reported by a 409, until reloaded
  }

  // An answer of GET coverage-versions/{id}/membership/.
  load(membership) {
    this.version = membership.version;
    this.zones = new Map(
      membership.zones.map((z) => [z.id, { ...z, cells: new Set(z.cells) }]),
    );
    this.cellIdByCode = new Map(Object.entries(membership.cells));
    this.cellCodeById = new Map([...this.cellIdByCode].map(([code, id]) => [id, code]));
    this.validation = null;
    this.marks = new Set([...this.marks].filter((id) => this.cellCodeById.has(id)));
    this.stale = null;
  }

  get isDraft() {
    return this.version?.status === "draft";
  }

  get revision() {
    return this.version?.revision ?? null;
  }

  // An answer of an edit (PlanningZoneSerializer): the zone as saved and the new revision.
  zoneSaved(saved, team) {
    const previous = this.zones.get(saved.id);
    this.zones.set(saved.id, {
      id: saved.id,
      name: saved.name,
      domain: saved.domain,
      team: previous?.team?.code === saved.team ? previous.team : team || { code: saved.team, name: saved.team },
      cells: new Set(saved.cells),
    });
    this.version = { ...this.version, revision: saved.revision };
  }

  zoneDeleted(id) {
    this.zones.delete(id);
    this.version = { ...this.version, revision: this.version.revision + 1 };
  }

  // Domains with a zone in this version, the comprehensive domain first (it always exists:
  // every cell needs a comprehensive team).
  domains() {
    const found = new Set([COMPREHENSIVE, ...[...this.zones.values()].map((z) => z.domain)]);
    return [...found].sort((a, b) => (a === COMPREHENSIVE ? -1 : b === COMPREHENSIVE ? 1 : a.localeCompare(b)));
  }

  zonesOfDomain(domain) {
    return [...this.zones.values()]
      .filter((z) => z.domain === domain)
      .sort((a, b) => a.name.localeCompare(b.name, "zh") || a.id - b.id);
  }

  // cell id → [zone, ...] of one domain: who covers each cell there.
  coverage(domain) {
    const byCell = new Map();
    for (const zone of this.zonesOfDomain(domain)) {
      for (const cell of zone.cells) {
        if (!byCell.has(cell)) byCell.set(cell, []);
        byCell.get(cell).push(zone);
      }
    }
    return byCell;
  }

  // The validation problems of one domain as sets of cell ids.
  problemCells(domain) {
    const pick = (rows) =>
      new Set(
        (rows || [])
          .filter((p) => p.domain === domain && this.cellIdByCode.has(p.cell))
          .map((p) => this.cellIdByCode.get(p.cell)),
      );
    return { gaps: pick(this.validation?.gaps), overlaps: pick(this.validation?.overlaps) };
  }

  // The zone's cells after adding or removing `cells`; null when that changes nothing.
  edited(zoneId, cells, mode) {
    const zone = this.zones.get(zoneId);
    if (!zone) return null;
    const next = new Set(zone.cells);
    let changed = 0;
    for (const id of cells) {
      if (mode === "add" && !next.has(id)) {
        next.add(id);
        changed += 1;
      } else if (mode === "remove" && next.has(id)) {
        next.delete(id);
        changed += 1;
      }
    }
    return changed ? { cells: [...next].sort((a, b) => a - b), changed } : null;
  }

  toggleMarks(cells, mode = "toggle") {
    for (const id of cells) {
      if (mode === "add" || (mode === "toggle" && !this.marks.has(id))) this.marks.add(id);
      else this.marks.delete(id);
    }
  }

  // Zones that may be merged with `zoneId`: same team and domain.
  mergeable(zoneId) {
    const zone = this.zones.get(zoneId);
    if (!zone) return [];
    return [...this.zones.values()].filter((z) => z.team.code === zone.team.code && z.domain === zone.domain);
  }
}
