"""Operations (reports, cases, units, pings, alerts) arrive with the live intake issue."""
