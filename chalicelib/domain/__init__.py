"""Pure domain: dossiers, statuses, deadlines, rules and KPI formulas (standard library only)."""
