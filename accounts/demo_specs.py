"""Who and what the demo tenants are: organizations, people, teams, and the logins to print.

Read by `accounts/demo.py`, which generates the data; see there."""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from csops.tenancy.models import Role

from . import demo_words as words

DEMO_PASSWORD = "demo1234!"  # noqa: S105 -- the public password of the demo logins, printed on purpose
HIGH_TOUCH, SCALE = "high_touch", "scale"


# --- What the demo tenants are made of --------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    email: str
    full_name: str
    role: str
    team: str | None = None
    login_label: str = ""  # shown in the logins box when set


@dataclass(frozen=True)
class TeamSpec:
    name: str
    segment: str  # HIGH_TOUCH owns enterprise and mid-market accounts, SCALE owns SMB and tech-touch
    manager_email: str | None = None


@dataclass(frozen=True)
class OrgSpec:
    code: int  # distinguishes the organizations' random streams and id ranges
    slug: str
    name: str
    timezone: str
    currency: str
    fiscal_year_start_month: int
    n_accounts: int
    people: tuple[Person, ...]
    teams: tuple[TeamSpec, ...]
    region_weights: tuple[float, float, float, float]
    suffixes: tuple[tuple[str, int], ...]
    external_id_prefix: str
    features: tuple[str, ...]


NORTHWIND_FIXED = (
    Person("leader@northwind.example", "Catherine Wu", Role.LEADER, login_label="Leader (VP Customer Success)"),
    Person("admin@northwind.example", "Samir Patel", Role.OPS_ADMIN, login_label="Ops admin"),
    Person("viewer@northwind.example", "Riley Thompson", Role.VIEWER, login_label="Viewer (Finance)"),
    Person("manager@northwind.example", "Morgan Blake", Role.MANAGER, "Enterprise & Strategic",
           login_label="Manager (Enterprise & Strategic)"),
    Person("dana.whitfield@northwind.example", "Dana Whitfield", Role.MANAGER, "Scale"),
    Person("csm@northwind.example", "Jordan Ellis", Role.CSM, "Enterprise & Strategic", login_label="CSM"),
    Person("alex.rivera@northwind.example", "Alex Rivera", Role.CSM, "Enterprise & Strategic"),
    Person("priya.natarajan@northwind.example", "Priya Natarajan", Role.CSM, "Enterprise & Strategic"),
    Person("marcus.chen@northwind.example", "Marcus Chen", Role.CSM, "Enterprise & Strategic"),
    Person("sofia.martinez@northwind.example", "Sofia Martinez", Role.CSM, "Scale"),
    Person("liam.oconnor@northwind.example", "Liam O'Connor", Role.CSM, "Scale"),
    Person("aisha.khan@northwind.example", "Aisha Khan", Role.CSM, "Scale"),
    Person("noah.fischer@northwind.example", "Noah Fischer", Role.CSM, "Scale"),
)
NORTHWIND_FEATURES = ("dashboards", "scheduled reports", "data connectors", "alerts", "embedded analytics",
                      "SSO", "the API", "semantic layer", "forecasting")
GLOBEX_FEATURES = ("Kubernetes clusters", "object storage", "the CDN", "managed Postgres", "the cost explorer",
                   "private networking", "backups", "the audit log")


def northwind_spec(n_accounts: int, *, seed: int) -> OrgSpec:
    """Northwind scales with N: max(8, N // 200) CSMs in teams of ~20, half high-touch, half scale."""
    n_csms = max(8, n_accounts // 200)
    n_teams = max(2, round(n_csms / 20))
    high_teams = [f"Enterprise & Strategic{'' if k == 0 else f' {k + 1}'}" for k in range(n_teams // 2)]
    scale_teams = [f"Scale{'' if k == 0 else f' {k + 1}'}" for k in range(n_teams - n_teams // 2)]
    people = list(NORTHWIND_FIXED)
    taken = {p.email for p in people}
    extra = _generated_people(n_csms - 8 + n_teams - 2, domain="northwind.example", taken=taken, seed=seed)
    managers = {"Enterprise & Strategic": "manager@northwind.example", "Scale": "dana.whitfield@northwind.example"}
    for team in high_teams[1:] + scale_teams[1:]:
        email, name = extra.pop()
        managers[team] = email
        people.append(Person(email, name, Role.MANAGER, team))
    for k, (email, name) in enumerate(extra):  # extra CSMs, alternating segments, round-robin over teams
        teams = high_teams if k % 2 == 0 else scale_teams
        people.append(Person(email, name, Role.CSM, teams[(k // 2 + 1) % len(teams)]))
    teams = tuple([TeamSpec(t, HIGH_TOUCH, managers[t]) for t in high_teams]
                  + [TeamSpec(t, SCALE, managers[t]) for t in scale_teams])
    return OrgSpec(
        code=1, slug="northwind", name="Northwind Analytics", timezone="America/New_York", currency="USD",
        fiscal_year_start_month=2, n_accounts=n_accounts, people=tuple(people), teams=teams,
        region_weights=(0.55, 0.28, 0.12, 0.05), suffixes=words.US_SUFFIXES, external_id_prefix="SF-",
        features=NORTHWIND_FEATURES,
    )


def globex_spec() -> OrgSpec:
    team = "DACH & Nordics"
    return OrgSpec(
        code=2, slug="globex", name="Globex Cloud", timezone="Europe/Berlin", currency="EUR",
        fiscal_year_start_month=1, n_accounts=80,
        people=(
            Person("admin@globex.example", "Katrin Vogel", Role.OPS_ADMIN, login_label="Globex ops admin"),
            Person("lena.hoffmann@globex.example", "Lena Hoffmann", Role.CSM, team, login_label="Globex CSM"),
            Person("jonas.weber@globex.example", "Jonas Weber", Role.CSM, team),
            # the same person as Northwind's leader: one login, two organizations
            Person("leader@northwind.example", "Catherine Wu", Role.VIEWER),
        ),
        teams=(TeamSpec(team, HIGH_TOUCH), ),
        region_weights=(0.10, 0.80, 0.07, 0.03), suffixes=words.EU_SUFFIXES, external_id_prefix="HS-",
        features=GLOBEX_FEATURES,
    )


def demo_specs(n_accounts: int, *, seed: int) -> list[OrgSpec]:
    # Globex first: Northwind existing then means the whole demo was committed (--if-empty checks it).
    return [globex_spec(), northwind_spec(n_accounts, seed=seed)]


DEMO_SLUGS = ("northwind", "globex")


def _generated_people(count: int, *, domain: str, taken: set[str], seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng([seed, zlib.crc32(domain.encode())])
    out = []
    while len(out) < count:
        first = words.FIRST_NAMES[rng.integers(len(words.FIRST_NAMES))]
        last = words.LAST_NAMES[rng.integers(len(words.LAST_NAMES))]
        email = f"{first}.{last}@{domain}".lower()
        n = 2
        while email in taken:
            email = f"{first}.{last}{n}@{domain}".lower()
            n += 1
        taken.add(email)
        out.append((email, f"{first} {last}"))
    return out


# --- Logins ------------------------------------------------------------------------------------------
def demo_logins() -> list[tuple[str, str]]:
    """(label, email) of the demo logins, in the order to show them."""
    labelled = [p for p in (*NORTHWIND_FIXED, *globex_spec().people) if p.login_label]
    order = {Role.CSM: 0, Role.MANAGER: 1, Role.LEADER: 2, Role.OPS_ADMIN: 3, Role.VIEWER: 4}
    northwind = sorted((p for p in labelled if "northwind" in p.email), key=lambda p: order[p.role])
    return [(p.login_label, p.email) for p in northwind + [p for p in labelled if "globex" in p.email]]


def logins_box(*, base_url: str = "http://127.0.0.1:8000") -> str:
    rows = [f"  {label:<32} {email}" for label, email in demo_logins()]
    rows += ["", f"  Password for every demo login:   {DEMO_PASSWORD}",
             "  leader@northwind.example is also a viewer in Globex Cloud (org switcher).",
             f"  Open {base_url}/o/northwind/  or  {base_url}/o/globex/"]
    width = max(len(r) for r in rows) + 2
    title = " CS Ops demo logins "
    top = "+" + title.center(width, "=") + "+"
    body = ["|" + r.ljust(width) + "|" for r in rows]
    return "\n".join([top, *body, "+" + "=" * width + "+"])
