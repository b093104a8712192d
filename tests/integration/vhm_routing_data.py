# SPDX-License-Identifier: Apache-2.0
"""vhm_routing_data - a seeded, synthetic routing database for vhostmail's tests and benches.

Python 3 standard library only.

    import vhm_routing_data
    ds = vhm_routing_data.generate(seed, domains, mailboxes, aliases, variety=True)
    ds.load(db)                # into a vhm_mariadb.private_mariadb whose migrations are applied
    ds.write_sql(path)         # the same statements into a file (for a look, or the client)
    ds.counts                  # rows per table, e.g. {"addresses": 4500, ...}
    ds.now                     # UNIX time the vacation windows are placed around: resolve there
    keys = ds.keys(n, seed)    # addresses to ask about (list of str, shuffled);
                               # keys(n, seed, domains=names): only about those domains
    for m in ds.mutations(n, seed):   # SQL batches, to apply in order after load()
        db.sql(m)              # m is a str (one transaction); m.what says what it changes,
                               # m.keys lists addresses whose answers it may change
    ds.mutations(n, seed, edge_cases=True)  # the same, after a few batches aimed at what
                               # incremental copies find hard (see _EDGE_CASES)

The same seed and sizes give the same data, keys and mutations: everything comes from
random.Random(seed), whose int seeding, random(), randrange(), choice() and shuffle() are stable
across Python 3 versions.

variety=False is a plain, realistic mix for benchmarks: mailboxes with the default Maildir (a
third with a full name) and a password (one fixed dummy hash), aliases with 1-2 forwardings to
hosted mailboxes or remote addresses, 10% of the domains with a catch-all (half to the domain's
own "catchall" mailbox, half to "@relay.example.net"), 2% with a domain alias, a few send
grants and domain administrators. The requested counts are exact in both modes (catch-all
mailboxes are part of `mailboxes`).

variety=True also exercises, each with a small probability, every routing feature of the schema
(sql/migrations/0001_initial.sql): disabled domains and addresses, domains that refuse mail
(with and without a reject text), domain aliases (enabled and disabled), every kind of fallback
('|/command args', '@hosted', '@remote', 'user@domain', 'localpart', '', padded with blanks,
fallback loops between domains), full-name matching with unique, ambiguous and
normalization-needing names (case, blanks, hyphens, UTF-8, punctuation only), local parts that
look like an extension but are addresses of their own ('sales+vip' next to 'sales'), forward
chains across domains, loops (a->b->a, a->a), a chain deeper than the resolver's depth bound, a
fan-out beyond its destination bound, forwards to disabled, unknown, refusing or
domain-alias addresses, vacations (enabled or not; past, current, future, open and boundary
windows), send grants (per local part and domain-wide, cross-domain), domain administrators,
custom Maildirs, address and domain quotas, login SETs, filter commands, addresses without a
password. The special structures are made of addresses from the same budgets.

Every value passes the schema's triggers (a domain name is never a domain alias name and the
other way round) and CHECK constraints, and follows its conventions (lower-case local parts
and domain names, relative Maildirs without ".."). Most are what the admin tool stores; a few
are what hand-written SQL leaves and the readers must cope with: fallbacks padded with blanks,
forwardings in upper case.

load() streams multi-row INSERTs (ids chosen here, so nothing is looked up) through one mariadb
client session as root, with unique_checks and foreign_key_checks off for that session only;
the triggers fire as for any other write, so routing_serial/routing_versions are right
afterwards. Progress goes to stderr.
"""

import bisect
import calendar
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

# 2026-06-15 12:00:00 UTC: vacation windows are placed around it, so a resolver asked "at ds.now"
# sees the same active and inactive vacations whenever the test runs.
NOW = calendar.timegm((2026, 6, 15, 12, 0, 0))
DAY = 86400

# What every generated password is: passwords do not take part in routing, only their presence.
DUMMY_HASH = ("{SHA512-CRYPT}$6$vhmroutingdata$"
              "Zq0JbP1qJm9b6iC1m0Yx2QzN8cH5fVw7tKj3LdR4sE6uA9oG2yT5nB8vX1wM3kQ7hF0pL4rS6dU2eI9aO3c")

FIRST = ("anna ben carl dora emil frieda gustav hanna ida jonas karl lena max nora otto paula "
         "quentin rosa sven tina ulf vera willi xenia yusuf zoe alex chris kim sam robin noah "
         "mia leon lea felix lina paul emma luis marie").split()
LAST = ("mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch "
        "richter klein wolf neumann schwarz braun zimmermann krueger hartmann lange werner "
        "krause lehmann koehler maier huber kaiser fuchs peters scholz moeller weiss jung hahn "
        "vogel friedrich keller guenther frank berger winkler roth beck lorenz").split()
# Names whose letters normalize_full_name does not fold (bytes >= 0x80 are kept as they are).
FIRST_UTF8 = ("jürgen zoë åsa øyvind renée josé łukasz françois søren ángel").split()
LAST_UTF8 = ("müller weiß ångström núñez kovačević dvořák søndergård lópez öztürk").split()
WORDS = ("alpha blue cedar delta echo forest granite harbor iris juniper kestrel lumen maple "
         "nimbus ocean pine quartz river summit tundra umber valley willow xylo yarrow zephyr "
         "amber birch copper dune ember fjord glacier heath island jade").split()
TLDS = ("com", "net", "org", "de", "eu", "io")
ROLES = ("info", "sales", "support", "office", "billing", "team", "contact", "jobs", "press",
         "webmaster", "abuse", "hostmaster", "noc", "security", "hello", "admin")
TAGS = ("vip", "news", "shop", "lists", "spam", "x1", "Tag", "a+b")
LOGIN_SETS = ("imap,pop3", "smtp", "imap", "", "smtp,imap", "pop3,sieve")
COMMANDS = ("|/usr/local/bin/catchall --domain %d --user %u",
            "|/usr/bin/procmail -m /etc/vhostmail/catchall.rc",
            " |  /usr/bin/logger -t vhm-catchall ",  # blanks around: parse_fallback trims
            "|/usr/lib/vhostmail/archive 'all mail'")
FILTERS = ("/usr/bin/spamc -u vhm", "/usr/local/bin/mailfilter --strict", "/usr/bin/true")
REJECT_TEXTS = ("", "This domain no longer receives mail", "Domain moved: write to us at "
                "new.example", "Nicht mehr zuständig, bitte an info@neu.example schreiben",
                "We're closed 'for good'")
# Full names whose every character is a separator: normalize_full_name gives "".
PUNCTUATION_NAMES = ("-", "...", "( )", " - ", "*")
REMOTE = "relay.example.net"


def normalize_full_name(name):
    """lib/vhost/schema.cc normalize_full_name: ASCII letters folded, runs of bytes that are
    not ASCII letters/digits or >= 0x80 become one '.', none at either end."""
    out = bytearray()
    pending = False
    for c in name.encode():
        word = 97 <= c <= 122 or 48 <= c <= 57 or c >= 0x80 or 65 <= c <= 90
        if not word:
            pending = bool(out)
            continue
        if pending:
            out += b"."
            pending = False
        out.append(c + 32 if 65 <= c <= 90 else c)
    return out.decode()


def ascii_upper(s):
    # The resolver folds ASCII only; str.upper() would also change 'ü', which it never folds.
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in s)


def _pick(rng, seq):
    # rng.choice() costs three times as much; this is as deterministic (random() only).
    return seq[int(rng.random() * len(seq))]


def _q(s):
    if s is None:
        return "NULL"
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def _n(v):
    return "NULL" if v is None else str(int(v))


def _datetime(t):
    return None if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


class Domain:
    __slots__ = ("id", "name", "enabled", "accepts_mail", "reject_text", "logins",
                 "quota_bytes", "quota_messages", "max_message_size", "fallback",
                 "filter_command", "fullname_matching", "description", "locals", "addrs")

    def __init__(self, id_, name):
        self.id = id_
        self.name = name
        self.enabled = True
        self.accepts_mail = True
        self.reject_text = ""
        self.logins = "smtp,imap,pop3,sieve"
        self.quota_bytes = None
        self.quota_messages = None
        self.max_message_size = None
        self.fallback = ""
        self.filter_command = ""
        self.fullname_matching = False
        self.description = ""
        self.locals = {}  # local part -> Address
        self.addrs = []   # the same, in creation order (for random choices)

    def row(self):
        return "(%d,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%d,%s)" % (
            self.id, _q(self.name), self.enabled, self.accepts_mail, _q(self.reject_text),
            _q(self.logins), _n(self.quota_bytes), _n(self.quota_messages),
            _n(self.max_message_size), _q(self.fallback), _q(self.filter_command),
            self.fullname_matching, _q(self.description))


DOMAIN_COLUMNS = ("id, name, enabled, accepts_mail, reject_text, logins, quota_bytes, "
                  "quota_messages, max_message_size, fallback, filter_command, "
                  "fullname_matching, description")


class Address:
    __slots__ = ("id", "domain", "local", "enabled", "mailbox", "maildir", "quota_bytes",
                 "quota_messages", "password", "full_name", "logins", "forwards")

    def __init__(self, id_, domain, local, mailbox):
        self.id = id_
        self.domain = domain
        self.local = local
        self.enabled = True
        self.mailbox = mailbox
        self.maildir = None
        self.quota_bytes = None
        self.quota_messages = None
        self.password = mailbox
        self.full_name = ""
        self.logins = "smtp,imap,pop3,sieve"
        self.forwards = ()

    @property
    def address(self):
        return self.local + "@" + self.domain.name

    def row(self):
        return "(%d,%d,%s,%d,%d,%s,%s,%s,%s,%s,%s)" % (
            self.id, self.domain.id, _q(self.local), self.enabled, self.mailbox,
            _q(self.maildir), _n(self.quota_bytes), _n(self.quota_messages),
            _q(DUMMY_HASH) if self.password else "NULL", _q(self.full_name), _q(self.logins))


ADDRESS_COLUMNS = ("id, domain_id, local_part, enabled, mailbox, maildir, quota_bytes, "
                   "quota_messages, password, full_name, logins")


class Mutation(str):
    """One SQL batch (a transaction) as text; .what describes it, .keys are addresses whose
    routing or sender rights it may change (some no longer exist afterwards: that is the
    point)."""

    def __new__(cls, sql, what, keys):
        self = super().__new__(cls, sql)
        self.what = what
        self.keys = keys
        return self


def generate(seed, domains, mailboxes, aliases, variety=True):
    """A Dataset of `domains` domains, about `mailboxes` mailbox addresses and `aliases`
    addresses without a mailbox (see the module documentation)."""
    return Dataset(seed, domains, mailboxes, aliases, variety)


class Dataset:
    def __init__(self, seed, n_domains, n_mailboxes, n_aliases, variety):
        if n_domains < 1:
            raise ValueError("at least one domain")
        self.seed = seed
        self.variety = variety
        self.now = NOW
        self.domains = []         # Domain, id order (id = index + 1)
        self.addresses = []       # Address, id order (id = index + 1)
        self.mailboxes = []       # Address with mailbox
        self.alias_list = []      # Address without mailbox
        self.domain_aliases = []  # (name, Domain, enabled)
        self.vacations = []       # (Address, enabled, starts_at, ends_at) UNIX times or None
        self.grants = []          # (holder Address, target Domain, local part or "")
        self.admins = []          # (Address, Domain)
        self.specials = []        # addresses built to hit an edge of the resolver
        self.bounds = []          # addresses that exceed its depth or destination bound
        self.separator_names = []  # domains matching full names, one of them separators only
        self._names = set()       # every domain and domain alias name
        self._grant_keys = set()
        self._admin_keys = set()
        self._key_sources = None
        self._by_name = None
        rng = random.Random(seed)
        self._make_domains(rng, n_domains)
        self._make_addresses(rng, n_mailboxes, n_aliases)
        self._make_forwards(rng)
        if variety:
            self._make_structures(rng)
            self._make_full_names(rng)
        self._make_fallbacks(rng)
        self._make_domain_aliases(rng)
        self._make_grants(rng)
        if variety:
            self._make_vacations(rng)

    # -- generation ----------------------------------------------------------------------------

    def _new_domain_name(self, rng, i):
        while True:
            name = "%s-%s%d.%s" % (rng.choice(WORDS), rng.choice(WORDS), i, rng.choice(TLDS))
            if name not in self._names:
                self._names.add(name)
                return name

    def _make_domains(self, rng, n):
        for i in range(1, n + 1):
            d = Domain(i, self._new_domain_name(rng, i))
            self.domains.append(d)
            if not self.variety:
                continue
            r = rng.random()
            if r < 0.03:
                d.enabled = False
            elif r < 0.06:
                d.accepts_mail = False
                d.reject_text = rng.choice(REJECT_TEXTS)
            d.fullname_matching = rng.random() < 0.12
            if rng.random() < 0.06:
                d.filter_command = rng.choice(FILTERS)
            if rng.random() < 0.15:
                d.quota_bytes = rng.choice((0, 1 << 30, 5 << 30, 100 << 20))
            if rng.random() < 0.10:
                d.quota_messages = rng.choice((0, 10000, 250000))
            if rng.random() < 0.05:
                d.max_message_size = rng.choice((10 << 20, 50 << 20))
            if rng.random() < 0.08:
                d.logins = rng.choice(LOGIN_SETS)
            if rng.random() < 0.05:
                d.description = "Kunde Nr. %d – 'Test'" % i
        # Mildly skewed domain sizes, like real hosting (a few big domains, many small ones).
        weights = [1.0 / (k + 1) ** 0.7 for k in range(n)]
        rng.shuffle(weights)
        self._cum = []
        total = 0.0
        for w in weights:
            total += w
            self._cum.append(total)
        self._total = total

    def _pick_domain(self, rng):
        i = bisect.bisect_left(self._cum, rng.random() * self._total)
        return self.domains[min(i, len(self.domains) - 1)]

    def _add(self, domain, local, mailbox):
        a = Address(len(self.addresses) + 1, domain, local, mailbox)
        self.addresses.append(a)
        domain.locals[local] = a
        domain.addrs.append(a)
        (self.mailboxes if mailbox else self.alias_list).append(a)
        return a

    def _person(self, rng, utf8=False):
        if utf8:
            return _pick(rng, FIRST_UTF8), _pick(rng, LAST_UTF8)
        return _pick(rng, FIRST), _pick(rng, LAST)

    def _new_local(self, rng, domain, mailbox):
        variety = self.variety
        for attempt in range(1000):
            r = rng.random()
            if variety and r < 0.02:
                first, last = self._person(rng, utf8=True)
                local = "%s.%s" % (first, last)
                if attempt >= 2:
                    local += str(rng.randrange(100))
            elif variety and r < 0.04 and domain.addrs:
                # Looks like base+extension but is an address of its own ("sales+vip").
                local = "%s+%s" % (rng.choice(domain.addrs).local.split("+")[0],
                                   rng.choice(("vip", "news", "old", "x")))
            elif not mailbox and r < 0.3:
                local = _pick(rng, ROLES) + ("" if attempt < 3 else str(rng.randrange(1000)))
            elif r < 0.6:
                local = "%s.%s" % self._person(rng)
                if attempt >= 2 or rng.random() < 0.5:
                    local += str(rng.randrange(100))
            else:
                first, last = self._person(rng)
                local = "%s%s%d" % (first[0], last, rng.randrange(1000))
            if local not in domain.locals and len(local.encode()) <= 64:
                return local
        raise RuntimeError("cannot find a free local part in " + domain.name)

    def _full_name_for(self, rng, local):
        # Mostly the name the local part was made of ("anna.mueller12" -> "Anna Mueller"),
        # so full-name keys and local parts look alike, as in real directories.
        base = local.split("+")[0].rstrip("0123456789")
        parts = base.split(".")
        if len(parts) == 2 and all(parts):
            first, last = parts
        else:
            first, last = self._person(rng)
        name = "%s %s" % (first.capitalize(), last.capitalize())
        if self.variety and rng.random() < 0.3:
            name = self._name_variant(rng, name)
        return name

    @staticmethod
    def _name_variant(rng, name):
        """The same name after normalize_full_name, written differently."""
        r = rng.random()
        if r < 0.2:
            return ascii_upper(name)
        if r < 0.4:
            return name.replace(" ", "  ")
        if r < 0.55:
            return name.replace(" ", "-")
        if r < 0.7:
            return " %s " % name.lower()
        if r < 0.85:
            return name.replace(" ", " - ")
        return name.replace(" ", "_")

    def _make_addresses(self, rng, n_mailboxes, n_aliases):
        variety = self.variety
        if not variety:
            # Plain mix: catch-alls on every 10th domain, half to the domain's own mailbox.
            for d in self.domains:
                if d.id % 10 == 0 and len(self.mailboxes) < n_mailboxes:
                    if d.id % 20 == 0:
                        d.fallback = "catchall"
                        self._add(d, "catchall", True)
                    else:
                        d.fallback = "@" + REMOTE
        while len(self.mailboxes) < n_mailboxes:
            d = self._pick_domain(rng)
            a = self._add(d, self._new_local(rng, d, True), True)
            if rng.random() < (0.6 if d.fullname_matching else 1 / 3):
                a.full_name = self._full_name_for(rng, a.local)
            if not variety:
                continue
            r = rng.random()
            if r < 0.03:
                a.enabled = False
            if rng.random() < 0.10:
                a.password = False
            if rng.random() < 0.03:
                a.maildir = rng.choice(("custom/%s/%s/" % (d.name, a.local),
                                        "%s/%s" % (d.name, a.local.replace("+", "-")),
                                        "shared/box-%d/" % a.id))
            if rng.random() < 0.10:
                a.quota_bytes = rng.choice((0, 1 << 20, 2 << 30))
            if rng.random() < 0.05:
                a.quota_messages = rng.choice((0, 500, 100000))
            if rng.random() < 0.05:
                a.logins = rng.choice(LOGIN_SETS)
        for _ in range(n_aliases):
            d = self._pick_domain(rng)
            a = self._add(d, self._new_local(rng, d, False), False)
            if not variety:
                continue
            if rng.random() < 0.03:
                a.enabled = False
            if rng.random() < 0.04:
                a.password = True  # a login without a mailbox (sends as itself)
            if rng.random() < (0.4 if d.fullname_matching else 0.05):
                a.full_name = self._full_name_for(rng, a.local)

    def _unknown_local(self, rng, domain):
        while True:
            local = "nobody-%s%d" % (rng.choice(FIRST), rng.randrange(10**7))
            if local not in domain.locals:
                return local

    def _remote_address(self, rng):
        return "%s.%s@ext%d.example.org" % (rng.choice(FIRST), rng.choice(LAST),
                                             rng.randrange(500))

    def _forward_target(self, rng, src, pools):
        """A forwarding destination for `src` (variety): mostly hosted mailboxes, then every
        kind of dead end and indirection."""
        r = rng.random()
        if r < 0.45:
            pool = None
            if rng.random() < 0.5:
                pool = [a for a in src.domain.addrs[:50] if a.mailbox]
            pool = pool or self.mailboxes
            return rng.choice(pool).address if pool else self._remote_address(rng)
        if r < 0.58 and self.alias_list:
            return rng.choice(self.alias_list).address  # chains, and loops by chance
        if r < 0.70:
            return self._remote_address(rng)
        if r < 0.74:
            d = rng.choice(self.domains)
            return self._unknown_local(rng, d) + "@" + d.name
        if r < 0.78 and pools["refusing"]:
            d = rng.choice(pools["refusing"])
            return (rng.choice(d.addrs).local if d.addrs else "someone") + "@" + d.name
        if r < 0.82 and pools["disabled"]:
            return rng.choice(pools["disabled"]).address
        if r < 0.88 and self.mailboxes:
            m = rng.choice(self.mailboxes)
            return "%s+%s@%s" % (m.local.split("+")[0], rng.choice(("list", "fwd")),
                                 m.domain.name)
        if r < 0.90 and self.mailboxes:
            m = rng.choice(self.mailboxes)
            return ascii_upper(m.local) + "@" + m.domain.name.upper()
        if r < 0.95 and pools["named"]:
            a = rng.choice(pools["named"])  # routed through the full name, not the local part
            return normalize_full_name(a.full_name) + "@" + a.domain.name
        return rng.choice(self.addresses).address if self.addresses else self._remote_address(rng)

    def _make_forwards(self, rng):
        pools = {"refusing": [d for d in self.domains if not d.enabled or not d.accepts_mail],
                 "disabled": [a for a in self.addresses if not a.enabled],
                 "named": [a for a in self.addresses
                           if a.domain.fullname_matching and normalize_full_name(a.full_name)]}
        for a in self.alias_list:
            if not self.variety:
                dests = []
                for _k in range(1 if rng.random() < 0.7 else 2):
                    for _try in range(20):
                        if rng.random() < 0.75 and self.mailboxes:
                            dest = rng.choice(self.mailboxes).address
                        else:
                            dest = self._remote_address(rng)
                        if dest not in dests:
                            dests.append(dest)
                            break
                a.forwards = dests
                continue
            r = rng.random()
            count = 0 if r < 0.02 else 1 if r < 0.65 else 2 if r < 0.9 else rng.randrange(3, 6)
            a.forwards = self._distinct_targets(rng, a, count, pools)
        if self.variety:
            for m in self.mailboxes:
                if rng.random() < 0.04:  # keep a copy and forward one
                    m.forwards = self._distinct_targets(rng, m, 1, pools)

    def _distinct_targets(self, rng, a, count, pools):
        dests = []
        for _ in range(count * 3):
            if len(dests) >= count:
                break
            dest = self._forward_target(rng, a, pools)
            if dest not in dests:
                dests.append(dest)
        return dests

    def _make_structures(self, rng):
        """Loops, a too-deep chain and a too-wide fan-out: the resolver's bounds."""
        aliases = [a for a in self.alias_list if a.enabled and a.domain.enabled and
                   a.domain.accepts_mail]
        if len(aliases) < 10:
            return
        for _ in range(max(1, len(aliases) // 100)):
            x, y = rng.sample(aliases, 2)  # a -> b -> a, sometimes with a way out
            x.forwards = [y.address] + ([rng.choice(self.mailboxes).address]
                                        if self.mailboxes and rng.random() < 0.5 else [])
            y.forwards = [x.address]
            self.specials += [x, y]
        for _ in range(max(1, len(aliases) // 300)):
            x = rng.choice(aliases)
            x.forwards = [x.address]  # a -> a
            self.specials.append(x)
        if len(aliases) >= 100:
            # 22 links: the resolver's default max_depth is 20.
            chain = rng.sample(aliases, 23)
            for a, b in zip(chain, chain[1:]):
                a.forwards = [b.address]
            chain[-1].forwards = [rng.choice(self.mailboxes).address] if self.mailboxes else []
            self.specials += chain[:3]
            self.bounds.append(chain[0])
        if len(aliases) >= 500:
            # One past max_destinations (1000): a temporary failure, in every directory alike.
            wide, narrow = rng.sample(aliases, 2)
            wide.forwards = ["fan%d@wide.example.org" % i for i in range(1001)]
            narrow.forwards = ["fan%d@wide.example.org" % i for i in range(999)]
            self.specials += [wide, narrow]
            self.bounds += [wide, narrow]

    def _make_full_names(self, rng):
        for d in self.domains:
            if not d.fullname_matching or len(d.addrs) < 2:
                continue
            named = [a for a in d.addrs if a.full_name]
            if named and rng.random() < 0.5:
                # Ambiguous: another address with the same name, written differently.
                x = rng.choice(named)
                y = rng.choice(d.addrs)
                if y is not x:
                    y.full_name = self._name_variant(rng, x.full_name)
                    self.specials.append(x)
            if rng.random() < 0.3:
                # A name that needs normalization, with letters the normalization keeps.
                a = rng.choice(d.addrs)
                first, last = self._person(rng, utf8=True)
                a.full_name = rng.choice(("%s %s", "%s-%s", " %s  %s ")) % (
                    first.capitalize(), last.capitalize())
                self.specials.append(a)
            if rng.random() < 0.25:
                # Separators only: normalizes to "", which must match nothing.
                for a in rng.sample(d.addrs, 1 if rng.random() < 0.7 else 2):
                    a.full_name = rng.choice(PUNCTUATION_NAMES)
                self.separator_names.append(d)

    def _make_fallbacks(self, rng):
        if not self.variety:
            return
        hosted = self.domains
        for d in hosted:
            r = rng.random()
            if r < 0.62:
                continue
            if r < 0.66:
                d.fallback = rng.choice(COMMANDS)
            elif r < 0.72:
                other = rng.choice(hosted)  # may be itself, disabled, or have its own fallback
                d.fallback = "@" + other.name
            elif r < 0.75:
                d.fallback = "@" + REMOTE
            elif r < 0.80:
                target = rng.choice(self.addresses) if self.addresses else None
                d.fallback = target.address if target else "postmaster@" + REMOTE
            elif r < 0.82:
                d.fallback = self._remote_address(rng)
            elif r < 0.90:
                if d.addrs and rng.random() < 0.8:
                    d.fallback = rng.choice(d.addrs).local  # maybe disabled, maybe an alias
                else:
                    d.fallback = self._unknown_local(rng, d)  # loops back to the fallback
            elif r < 0.93:
                d.fallback = "  @%s " % rng.choice(hosted).name
            # else: '' stays (the explicit "reject unknown users")
        for _ in range(max(1, len(hosted) // 100)):
            x, y = rng.choice(hosted), rng.choice(hosted)
            x.fallback, y.fallback = "@" + y.name, "@" + x.name  # unknown users loop

    def _make_domain_aliases(self, rng):
        share = 0.08 if self.variety else 0.02
        serial = 0
        for d in self.domains:
            if rng.random() >= share:
                continue
            for _ in range(1 if not self.variety or rng.random() < 0.7 else 2):
                serial += 1
                name = "alias%d-%s.%s" % (serial, rng.choice(WORDS), rng.choice(TLDS))
                if name in self._names:
                    continue
                self._names.add(name)
                enabled = not self.variety or rng.random() >= 0.25
                self.domain_aliases.append((name, d, enabled))

    def _make_grants(self, rng):
        variety = self.variety
        holders = self.addresses if variety else self.mailboxes
        share = 0.03 if variety else 0.005
        for a in holders:
            if rng.random() >= share:
                continue
            target = a.domain if not variety or rng.random() < 0.6 else rng.choice(self.domains)
            r = rng.random()
            if r < 0.25 and variety:
                local = ""  # the whole domain
            elif r < 0.4 and variety:
                local = self._unknown_local(rng, target)
            elif target.addrs:
                local = rng.choice(target.addrs).local
            else:
                local = rng.choice(ROLES)
            key = (a.id, target.id, local)
            if key not in self._grant_keys:
                self._grant_keys.add(key)
                self.grants.append((a, target, local))
        share = 0.08 if variety else 0.01
        for d in self.domains:
            if rng.random() >= share or not d.addrs:
                continue
            for _ in range(1 if rng.random() < 0.7 else 2):
                pool = d.addrs if not variety or rng.random() < 0.6 else self.addresses
                a = rng.choice(pool)
                if (a.id, d.id) not in self._admin_keys:
                    self._admin_keys.add((a.id, d.id))
                    self.admins.append((a, d))

    def _make_vacations(self, rng):
        now = self.now
        windows = ((None, None), (now - 30 * DAY, now - 10 * DAY), (now + 10 * DAY, now + 20 * DAY),
                   (now - 5 * DAY, now + 5 * DAY), (now - DAY, None), (None, now + 3 * DAY),
                   (None, now - 3 * DAY), (now, None), (None, now))
        for a in self.addresses:
            if rng.random() < 0.04:
                starts, ends = rng.choice(windows)
                self.vacations.append((a, rng.random() < 0.8, starts, ends))
                self.specials.append(a)

    # -- loading -------------------------------------------------------------------------------

    @property
    def counts(self):
        return {"domains": len(self.domains), "domain_aliases": len(self.domain_aliases),
                "addresses": len(self.addresses), "mailboxes": len(self.mailboxes),
                "forwardings": sum(len(a.forwards) for a in self.addresses),
                "vacations": len(self.vacations), "send_grants": len(self.grants),
                "domain_admins": len(self.admins)}

    def _tables(self):
        """(table, column list, row count, iterator of row texts), in foreign-key order."""
        def forwardings():
            for a in self.addresses:
                for f in a.forwards:
                    yield "(%d,%s)" % (a.id, _q(f))

        counts = self.counts
        return (
            ("domains", DOMAIN_COLUMNS, len(self.domains), (d.row() for d in self.domains)),
            ("domain_aliases", "name, domain_id, enabled", len(self.domain_aliases),
             ("(%s,%d,%d)" % (_q(n), d.id, e) for n, d, e in self.domain_aliases)),
            ("addresses", ADDRESS_COLUMNS, len(self.addresses),
             (a.row() for a in self.addresses)),
            ("forwardings", "address_id, destination", counts["forwardings"], forwardings()),
            ("vacations", "address_id, enabled, subject, body, starts_at, ends_at",
             len(self.vacations),
             ("(%d,%d,%s,%s,%s,%s)" % (a.id, e, _q("Away"), _q("Back on Monday, %s." % a.local),
                                       _q(_datetime(s)), _q(_datetime(t)))
              for a, e, s, t in self.vacations)),
            ("send_grants", "address_id, domain_id, local_part", len(self.grants),
             ("(%d,%d,%s)" % (a.id, d.id, _q(l)) for a, d, l in self.grants)),
            ("domain_admins", "address_id, domain_id", len(self.admins),
             ("(%d,%d)" % (a.id, d.id) for a, d in self.admins)),
        )

    def sql_chunks(self, batch_rows=2000, progress=None):
        """The load script in pieces of about batch_rows rows (one INSERT each).
        progress(table, rows_done, rows_total) is called after each piece."""
        yield ("SET SESSION autocommit = 0, unique_checks = 0, foreign_key_checks = 0;\n")
        for table, columns, total, rows in self._tables():
            done = 0
            batch = []
            head = "INSERT INTO %s (%s) VALUES\n" % (table, columns)
            for r in rows:
                batch.append(r)
                if len(batch) >= batch_rows:
                    done += len(batch)
                    # Commit now and then: one huge transaction only grows the undo log.
                    yield head + ",\n".join(batch) + ";\n" + (
                        "COMMIT;\n" if done % (batch_rows * 25) == 0 else "")
                    batch = []
                    if progress:
                        progress(table, done, total)
            if batch:
                done += len(batch)
                yield head + ",\n".join(batch) + ";\n"
            yield "COMMIT;\n"
            if progress:
                progress(table, done, total)

    def write_sql(self, path):
        with open(path, "w", encoding="utf-8") as out:
            for chunk in self.sql_chunks():
                out.write(chunk)

    def load(self, db, batch_rows=2000, quiet=False):
        """Loads the data into `db` (a vhm_mariadb.private_mariadb with the migrations applied,
        tables empty) through one mariadb client session; returns the seconds it took. Raises
        RuntimeError with the client's error text on failure."""
        client = shutil.which("mariadb", path=os.pathsep.join(
            [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"]))
        if client is None:
            raise RuntimeError("mariadb client not found")
        total_rows = sum(t[2] for t in self._tables())
        t0 = time.monotonic()
        state = {"last": t0, "before": 0, "table": None}

        def progress(table, done, total):
            if table != state["table"]:
                if state["table"] is not None:
                    state["before"] += state["total"]
                state["table"], state["total"] = table, total
            now = time.monotonic()
            if not quiet and (now - state["last"] >= 2 or done == total):
                state["last"] = now
                rows = state["before"] + done
                print("vhm_routing_data: load %s %d/%d, all tables %d/%d rows, %.1f s "
                      "(%.0f rows/s)" % (table, done, total, rows, total_rows, now - t0,
                                         rows / max(now - t0, 1e-6)),
                      file=sys.stderr, flush=True)

        with tempfile.TemporaryFile(mode="w+") as err:
            proc = subprocess.Popen(
                [client, "--no-defaults", "--socket=" + db.socket, "--user=root",
                 "--database=" + db.database, "--batch", "--default-character-set=utf8mb4",
                 "--max-allowed-packet=256M"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                text=True, encoding="utf-8")
            try:
                for chunk in self.sql_chunks(batch_rows, progress):
                    proc.stdin.write(chunk)
                proc.stdin.close()
            except BrokenPipeError:
                pass  # the client died: its error text says why
            rc = proc.wait()
            err.seek(0)
            text = err.read().strip()
        if rc != 0:
            raise RuntimeError("loading the routing data failed (mariadb exit %d): %s"
                               % (rc, text[-2000:]))
        elapsed = time.monotonic() - t0
        if not quiet:
            print("vhm_routing_data: loaded %d rows (%s) in %.1f s" % (
                total_rows, ", ".join("%s %d" % kv for kv in self.counts.items()), elapsed),
                file=sys.stderr, flush=True)
        return elapsed

    # -- keys ----------------------------------------------------------------------------------

    def _sources(self):
        if self._key_sources is not None:
            return self._key_sources
        s = {
            "fallback": [d for d in self.domains if d.fallback.strip()],
            "plain": [d for d in self.domains if not d.fallback.strip()],
            "named": [a for a in self.addresses if a.full_name],
            "fullname": [d for d in self.domains if d.fullname_matching],
            "plus": [a for a in self.addresses if "+" in a.local],
            "refusing": [d for d in self.domains if not d.enabled or not d.accepts_mail],
            "disabled": [a for a in self.addresses if not a.enabled],
        }
        self._key_sources = s
        return s

    def keys(self, n, seed, domains=None):
        """n distinct addresses to ask about, shuffled: existing mailboxes and aliases, with
        +extensions, in upper case, through domain aliases, unknown users (with and without a
        catch-all), unknown domains, full names, senders with grants, disabled and refusing
        targets, and malformed keys. `domains` (names) restricts the choice to those domains
        where a category allows it."""
        rng = random.Random(seed)
        src = self._sources()
        only = None if domains is None else set(domains)

        def pick_address(pool=None):
            if only is not None:
                cands = [a for name in sorted(only) for a in self._domain_addrs(name)] \
                    if pool is None else [a for a in pool if a.domain.name in only]
                return rng.choice(cands) if cands else None
            pool = self.addresses if pool is None else pool
            return rng.choice(pool) if pool else None

        def pick_domain(pool):
            if only is not None:
                pool = [d for d in pool if d.name in only]
            return rng.choice(pool) if pool else None

        def ext(local):
            return "%s+%s" % (local, rng.choice(TAGS))

        def k_mailbox():
            a = pick_address(self.mailboxes)
            return a and a.address

        def k_alias():
            a = pick_address(self.alias_list)
            return a and a.address

        def k_extension():
            a = pick_address()
            return a and "%s@%s" % (ext(a.local), a.domain.name)

        def k_case():
            a = pick_address()
            if a is None:
                return None
            r = rng.random()
            if r < 0.4:
                return ascii_upper(a.address)
            if r < 0.7:
                return a.local + "@" + a.domain.name.upper()
            return a.local.capitalize() + "@" + a.domain.name.capitalize()

        def k_domain_alias():
            cands = self.domain_aliases if only is None else [
                x for x in self.domain_aliases if x[1].name in only]
            if not cands:
                return None
            name, d, _enabled = rng.choice(cands)
            if d.addrs and rng.random() < 0.7:
                local = rng.choice(d.addrs).local
                return "%s@%s" % (ext(local) if rng.random() < 0.2 else local, name)
            return self._unknown_local(rng, d) + "@" + name

        def k_unknown(pool):
            d = pick_domain(pool)
            return d and self._unknown_local(rng, d) + "@" + d.name

        def k_unknown_domain():
            return "%s.%s@%s-%d.example.com" % (rng.choice(FIRST), rng.choice(LAST),
                                                rng.choice(WORDS), rng.randrange(10**6))

        def k_full_name():
            a = pick_address(src["named"])
            if a is None:
                return None
            norm = normalize_full_name(a.full_name)
            if not norm:
                return None
            r = rng.random()
            if r < 0.5:
                local = norm
            elif r < 0.7:
                local = norm.replace(".", "-")
            elif r < 0.85:
                local = ascii_upper(norm)
            else:
                local = ext(norm)
            return local + "@" + a.domain.name

        def k_sender():
            if self.grants and (not self.admins or rng.random() < 0.7):
                cands = self.grants if only is None else [
                    g for g in self.grants if g[1].name in only]
                if not cands:
                    return None
                _holder, d, local = rng.choice(cands)
                if not local:
                    local = rng.choice(d.addrs).local if d.addrs and rng.random() < 0.5 \
                        else self._unknown_local(rng, d)
                return local + "@" + d.name
            cands = self.admins if only is None else [x for x in self.admins if x[1].name in only]
            if not cands:
                return None
            _a, d = rng.choice(cands)
            return (rng.choice(d.addrs).local if d.addrs else "x") + "@" + d.name

        def k_special():
            a = pick_address(self.specials) if self.specials else None
            if a is not None and rng.random() < 0.6:
                return a.address if rng.random() < 0.8 else "%s@%s" % (ext(a.local),
                                                                       a.domain.name)
            d = pick_domain(src["fullname"] if rng.random() < 0.5 else self.domains)
            if d is None:
                return None
            return rng.choice((
                "-@%s", "...@%s", "_@%s", "+tag@%s", "postmaster@%s", "Postmaster+x@%s",
                "no-at-sign", "@%s", "nobody@", "two@at@%s", "%s@%s." % ("x" * 65, "%s"),
                "a b@%s", "nobody@-bad-.example", "x@%s.", "MAILER-DAEMON@%s")).replace(
                    "%s", d.name)

        def k_dead():
            if src["refusing"] and rng.random() < 0.5:
                d = pick_domain(src["refusing"])
                if d is not None:
                    return (rng.choice(d.addrs).local if d.addrs else
                            self._unknown_local(rng, d)) + "@" + d.name
            a = pick_address(src["disabled"])
            return a and a.address

        def k_plus():
            a = pick_address(src["plus"])
            if a is None:
                return None
            base, _, tag = a.local.partition("+")
            return rng.choice((a.local, base + "+other", ascii_upper(a.local),
                               base + "+" + tag + "+more")) + "@" + a.domain.name

        mix = ((k_mailbox, 16), (k_alias, 16), (k_extension, 8), (k_case, 6),
               (k_domain_alias, 5), (lambda: k_unknown(src["fallback"]), 6),
               (lambda: k_unknown(src["plain"]), 6), (k_unknown_domain, 3), (k_full_name, 9),
               (k_sender, 9), (k_special, 7), (k_dead, 5), (k_plus, 4))
        cum = []
        total = 0
        for _fn, w in mix:
            total += w
            cum.append(total)
        out, seen = [], set()
        # A few edges are reached by one key each: always ask them. The bounds (a temporary
        # failure for too many destinations, a too-deep chain), and local parts that normalize
        # to "" in domains where a full name does too (no full name may match them).
        always = [a.address for a in self.bounds if only is None or a.domain.name in only]
        always += ["%s@%s" % (("-", "_", "...")[i % 3], d.name)
                   for i, d in enumerate(self.separator_names) if only is None or d.name in only]
        for key in always[:n]:
            seen.add(key)
            out.append(key)
        for _ in range(n * 20):
            if len(out) >= n:
                break
            fn = mix[bisect.bisect_right(cum, rng.randrange(total))][0]
            key = fn()
            if key and key not in seen and "\n" not in key:
                seen.add(key)
                out.append(key)
        rng.shuffle(out)
        return out

    def _domain_addrs(self, name):
        if self._by_name is None:
            self._by_name = {d.name: d for d in self.domains}
        d = self._by_name.get(name)
        return d.addrs if d else ()

    # -- mutations -----------------------------------------------------------------------------

    def mutations(self, n, seed, edge_cases=False):
        """n SQL batches, each one transaction changing one or a few domains, valid when applied
        in order to the loaded data (each call starts again from the loaded data).

        edge_cases=True puts first, one batch each, the changes an incremental copy finds hard
        (a change in one domain that alters what other domains hold: the login names of grants
        and administrators), as far as the data has rows for them; then the n random ones."""
        rng = random.Random(seed)
        view = _View(self)
        out = []
        if edge_cases:
            for fn in _EDGE_CASES:
                m = fn(view, rng)
                if m is not None:
                    sql, what, keys = m
                    out.append(Mutation("START TRANSACTION;\n" + sql + "COMMIT;\n", what,
                                        sorted(set(keys))))
            n += len(out)
        kinds = _MUTATIONS
        cum = []
        total = 0
        for _fn, w in kinds:
            total += w
            cum.append(total)
        for _ in range(n * 10):
            if len(out) >= n:
                break
            fn = kinds[bisect.bisect_right(cum, rng.randrange(total))][0]
            m = fn(view, rng)
            if m is not None:
                sql, what, keys = m
                out.append(Mutation("START TRANSACTION;\n" + sql + "COMMIT;\n", what,
                                    sorted(set(keys))))
        return out


class _VDomain:
    """A domain as the mutations so far left it: what later mutations need to stay valid."""

    __slots__ = ("id", "name", "locals", "aliases")

    def __init__(self, id_, name, locals_, aliases):
        self.id = id_
        self.name = name
        self.locals = locals_    # local part -> address id
        self.aliases = aliases   # domain alias names


class _View:
    """Copy-on-write view of a Dataset for generating mutations: only touched domains are
    copied, so it stays cheap on a million addresses."""

    def __init__(self, ds):
        self.ds = ds
        self.doms = {}
        self.dead = set()
        self.names = set(ds._names)
        self.alias_owner = {name: d.id for name, d, _e in ds.domain_aliases}
        self.aliases_of = {}
        for name, d, _e in ds.domain_aliases:
            self.aliases_of.setdefault(d.id, []).append(name)
        self.ids = [d.id for d in ds.domains]
        self.next_domain = len(ds.domains) + 1
        self.next_address = len(ds.addresses) + 1
        self.serial = 0
        self.used = set()  # address ids an edge case changed

    def dom(self, id_):
        v = self.doms.get(id_)
        if v is None:
            d = self.ds.domains[id_ - 1]
            v = _VDomain(id_, d.name, {l: a.id for l, a in d.locals.items()},
                         list(self.aliases_of.get(id_, ())))
            self.doms[id_] = v
        return v

    def pick(self, rng, with_addresses=False):
        for _ in range(50):
            id_ = rng.choice(self.ids)
            if id_ in self.dead:
                continue
            d = self.dom(id_)
            if with_addresses and not d.locals:
                continue
            return d
        return None

    def address(self, rng, d):
        """(local, id) of a random address of d, or None."""
        if not d.locals:
            return None
        local = rng.choice(list(d.locals))  # insertion order: deterministic
        return local, d.locals[local]

    def target(self, rng):
        """A forwarding destination in the current data (hosted, unknown or remote)."""
        r = rng.random()
        if r < 0.7:
            d = self.pick(rng, with_addresses=True)
            if d is not None:
                local, _id = self.address(rng, d)
                return local + "@" + d.name
        if r < 0.85:
            d = self.pick(rng)
            if d is not None:
                return "ghost%d@%s" % (rng.randrange(1000), d.name)
        return "%s@ext%d.example.org" % (rng.choice(FIRST), rng.randrange(500))

    def new_local(self, rng, d):
        while True:
            local = "%s.%s%d" % (rng.choice(FIRST), rng.choice(LAST), rng.randrange(1000))
            if local not in d.locals:
                return local

    def new_name(self, rng, prefix):
        while True:
            self.serial += 1
            name = "%s%d-%s.%s" % (prefix, self.serial, rng.choice(WORDS), rng.choice(TLDS))
            if name not in self.names:
                self.names.add(name)
                return name

    def add_address(self, d, local):
        id_ = self.next_address
        self.next_address += 1
        d.locals[local] = id_
        return id_


def _m_add_mailbox(v, rng):
    d = v.pick(rng)
    if d is None:
        return None
    local = v.new_local(rng, d)
    id_ = v.add_address(d, local)
    first, last = local.split(".")[0], local.split(".")[1].rstrip("0123456789")
    sql = ("INSERT INTO addresses (id, domain_id, local_part, mailbox, password, full_name)"
           " VALUES (%d, %d, %s, TRUE, %s, %s);\n" % (id_, d.id, _q(local), _q(DUMMY_HASH),
                                                      _q("%s %s" % (first.capitalize(),
                                                                    last.capitalize()))))
    return sql, "add mailbox %s@%s" % (local, d.name), [
        local + "@" + d.name, local + "+x@" + d.name, "%s.%s@%s" % (first, last, d.name)]


def _m_add_alias(v, rng):
    d = v.pick(rng)
    if d is None:
        return None
    local = v.new_local(rng, d)
    id_ = v.add_address(d, local)
    dests = sorted({v.target(rng) for _ in range(rng.randrange(1, 3))})
    sql = "INSERT INTO addresses (id, domain_id, local_part) VALUES (%d, %d, %s);\n" % (
        id_, d.id, _q(local))
    sql += "".join("INSERT INTO forwardings (address_id, destination) VALUES (%d, %s);\n" % (
        id_, _q(x)) for x in dests)
    return sql, "add alias %s@%s -> %s" % (local, d.name, ",".join(dests)), [
        local + "@" + d.name] + dests


def _m_remove_address(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, id_ = v.address(rng, d)
    del d.locals[local]
    sql = "DELETE FROM addresses WHERE id = %d;\n" % id_
    if rng.random() < 0.5:  # as `vhostmail address remove` does: grants naming it go too
        sql = "DELETE FROM send_grants WHERE domain_id = %d AND local_part = %s;\n" % (
            d.id, _q(local)) + sql
    return sql, "remove %s@%s" % (local, d.name), [local + "@" + d.name]


def _m_recreate_address(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, old = v.address(rng, d)
    id_ = v.add_address(d, local)
    sql = ("DELETE FROM addresses WHERE id = %d;\n"
           "INSERT INTO addresses (id, domain_id, local_part, mailbox, password) VALUES"
           " (%d, %d, %s, TRUE, %s);\n" % (old, id_, d.id, _q(local), _q(DUMMY_HASH)))
    return sql, "delete and add again %s@%s (new id %d)" % (local, d.name, id_), [
        local + "@" + d.name]


def _m_rename_address(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, id_ = v.address(rng, d)
    new = v.new_local(rng, d)
    del d.locals[local]
    d.locals[new] = id_
    sql = "UPDATE addresses SET local_part = %s WHERE id = %d;\n" % (_q(new), id_)
    return sql, "rename %s@%s to %s" % (local, d.name, new), [
        local + "@" + d.name, new + "@" + d.name]


def _m_change_forward(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, id_ = v.address(rng, d)
    dests = sorted({v.target(rng) for _ in range(rng.randrange(0, 3))})
    sql = "DELETE FROM forwardings WHERE address_id = %d;\n" % id_
    sql += "".join("INSERT INTO forwardings (address_id, destination) VALUES (%d, %s);\n" % (
        id_, _q(x)) for x in dests)
    return sql, "forwards of %s@%s = %s" % (local, d.name, ",".join(dests) or "none"), [
        local + "@" + d.name, local + "+y@" + d.name] + dests


def _m_toggle_address(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, id_ = v.address(rng, d)
    col = rng.choice(("enabled", "mailbox", "enabled"))
    sql = "UPDATE addresses SET %s = NOT %s WHERE id = %d;\n" % (col, col, id_)
    return sql, "toggle %s of %s@%s" % (col, local, d.name), [local + "@" + d.name]


def _m_address_settings(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, id_ = v.address(rng, d)
    change = rng.choice((
        "password = NULL", "password = %s" % _q(DUMMY_HASH), "logins = 'imap'",
        "logins = DEFAULT", "quota_bytes = %d" % (1 << 20), "quota_messages = NULL",
        "maildir = %s" % _q("moved/%s/%s/" % (d.name, local)), "maildir = NULL",
        "full_name = %s" % _q("%s %s" % (rng.choice(FIRST_UTF8).capitalize(),
                                         rng.choice(LAST).capitalize())),
        "full_name = ''"))
    sql = "UPDATE addresses SET %s WHERE id = %d;\n" % (change, id_)
    return sql, "%s@%s: %s" % (local, d.name, change), [local + "@" + d.name]


def _m_domain_settings(v, rng):
    d = v.pick(rng)
    if d is None:
        return None
    r = rng.random()
    if r < 0.25:
        change = "enabled = NOT enabled"
    elif r < 0.45:
        change = "accepts_mail = NOT accepts_mail, reject_text = %s" % _q(
            rng.choice(REJECT_TEXTS))
    elif r < 0.6:
        change = "fullname_matching = NOT fullname_matching"
    elif r < 0.7:
        change = "filter_command = %s" % _q(rng.choice(FILTERS + ("",)))
    elif r < 0.8:
        change = "logins = %s" % _q(rng.choice(LOGIN_SETS))
    else:
        change = "quota_bytes = %s, quota_messages = %s" % (
            rng.choice(("NULL", "0", str(1 << 30))), rng.choice(("NULL", "0", "1000")))
    sql = "UPDATE domains SET %s WHERE id = %d;\n" % (change, d.id)
    keys = ["someone@" + d.name]
    for _ in range(3):
        a = v.address(rng, d)
        if a:
            keys.append(a[0] + "@" + d.name)
    return sql, "domain %s: %s" % (d.name, change), keys


def _m_fallback(v, rng):
    d = v.pick(rng)
    if d is None:
        return None
    other = v.pick(rng)
    a = v.address(rng, d)
    fallback = rng.choice((
        "", rng.choice(COMMANDS), "@" + (other.name if other else REMOTE), "@" + REMOTE,
        v.target(rng), a[0] if a else "postmaster", "nobody-%d" % rng.randrange(100)))
    sql = "UPDATE domains SET fallback = %s WHERE id = %d;\n" % (_q(fallback), d.id)
    return sql, "fallback of %s = %r" % (d.name, fallback), [
        "unknown%d@%s" % (rng.randrange(100), d.name), "x+y@" + d.name]


def _m_grant(v, rng):
    holder_dom = v.pick(rng, with_addresses=True)
    target = v.pick(rng)
    if holder_dom is None or target is None:
        return None
    h_local, h_id = v.address(rng, holder_dom)
    r = rng.random()
    if r < 0.4:
        sql = ("DELETE FROM send_grants WHERE domain_id = %d ORDER BY address_id, local_part"
               " LIMIT 1;\n" % target.id)
        what = "remove a grant on %s" % target.name
        local = "someone"
    else:
        a = v.address(rng, target)
        local = "" if r < 0.55 or a is None else a[0]
        sql = ("INSERT IGNORE INTO send_grants (address_id, domain_id, local_part) VALUES"
               " (%d, %d, %s);\n" % (h_id, target.id, _q(local)))
        what = "grant %s@%s sending as %s@%s" % (h_local, holder_dom.name, local, target.name)
    a = v.address(rng, target)
    return sql, what, [(local or "anyone") + "@" + target.name,
                       (a[0] if a else "x") + "@" + target.name]


def _m_admin(v, rng):
    d = v.pick(rng)
    holder_dom = v.pick(rng, with_addresses=True) if rng.random() < 0.3 else d
    if d is None or holder_dom is None or not holder_dom.locals:
        return None
    local, id_ = v.address(rng, holder_dom)
    r = rng.random()
    if r < 0.35:
        sql = ("DELETE FROM domain_admins WHERE domain_id = %d ORDER BY address_id LIMIT 1;\n"
               % d.id)
        what = "remove an administrator of %s" % d.name
    elif r < 0.45:
        # By hand, an administrator moved to another domain (no trigger on UPDATE here).
        other = v.pick(rng)
        if other is None:
            return None
        sql = ("UPDATE IGNORE domain_admins SET domain_id = %d WHERE domain_id = %d"
               " ORDER BY address_id LIMIT 1;\n" % (other.id, d.id))
        what = "move an administrator of %s to %s" % (d.name, other.name)
        a = v.address(rng, other)
        return sql, what, ["x@" + d.name, "x@" + other.name] + (
            [a[0] + "@" + other.name] if a else [])
    else:
        sql = "INSERT IGNORE INTO domain_admins (address_id, domain_id) VALUES (%d, %d);\n" % (
            id_, d.id)
        what = "%s@%s administers %s" % (local, holder_dom.name, d.name)
    a = v.address(rng, d)
    return sql, what, ["x@" + d.name] + ([a[0] + "@" + d.name] if a else [])


def _m_vacation(v, rng):
    d = v.pick(rng, with_addresses=True)
    if d is None:
        return None
    local, id_ = v.address(rng, d)
    now = v.ds.now
    if rng.random() < 0.3:
        sql = "DELETE FROM vacations WHERE address_id = %d;\n" % id_
        what = "no vacation for %s@%s" % (local, d.name)
    else:
        starts, ends = rng.choice(((None, None), (now - DAY, now + DAY), (now + DAY, None),
                                   (None, now - DAY)))
        enabled = int(rng.random() < 0.8)
        sql = ("INSERT INTO vacations (address_id, enabled, subject, body, starts_at, ends_at)"
               " VALUES (%d, %d, 'Away', 'Back soon', %s, %s) ON DUPLICATE KEY UPDATE"
               " enabled = VALUES(enabled), starts_at = VALUES(starts_at),"
               " ends_at = VALUES(ends_at);\n" % (id_, enabled, _q(_datetime(starts)),
                                                   _q(_datetime(ends))))
        what = "vacation of %s@%s enabled=%d %s..%s" % (local, d.name, enabled,
                                                         _datetime(starts), _datetime(ends))
    return sql, what, [local + "@" + d.name]


def _m_domain_alias(v, rng):
    d = v.pick(rng)
    if d is None:
        return None
    local = (v.address(rng, d) or ("x",))[0]
    r = rng.random()
    if r < 0.35 or not d.aliases:
        name = v.new_name(rng, "alias")
        d.aliases.append(name)
        v.alias_owner[name] = d.id
        sql = "INSERT INTO domain_aliases (name, domain_id, enabled) VALUES (%s, %d, %d);\n" % (
            _q(name), d.id, rng.random() < 0.8)
        return sql, "new domain alias %s of %s" % (name, d.name), [local + "@" + name]
    name = rng.choice(d.aliases)
    if r < 0.55:
        d.aliases.remove(name)
        v.names.discard(name)
        del v.alias_owner[name]
        sql = "DELETE FROM domain_aliases WHERE name = %s;\n" % _q(name)
        return sql, "remove domain alias %s of %s" % (name, d.name), [local + "@" + name]
    if r < 0.75:
        new = v.new_name(rng, "renamed")
        d.aliases[d.aliases.index(name)] = new
        v.names.discard(name)
        del v.alias_owner[name]
        v.alias_owner[new] = d.id
        sql = "UPDATE domain_aliases SET name = %s WHERE name = %s;\n" % (_q(new), _q(name))
        return sql, "rename domain alias %s of %s to %s" % (name, d.name, new), [
            local + "@" + name, local + "@" + new]
    if r < 0.9:
        sql = "UPDATE domain_aliases SET enabled = NOT enabled WHERE name = %s;\n" % _q(name)
        return sql, "toggle domain alias %s of %s" % (name, d.name), [local + "@" + name]
    other = v.pick(rng)
    if other is None or other is d:
        return None
    d.aliases.remove(name)
    other.aliases.append(name)
    v.alias_owner[name] = other.id
    sql = "UPDATE domain_aliases SET domain_id = %d WHERE name = %s;\n" % (other.id, _q(name))
    o = v.address(rng, other)
    return sql, "move domain alias %s from %s to %s" % (name, d.name, other.name), [
        local + "@" + name] + ([o[0] + "@" + name] if o else [])


def _m_add_domain(v, rng):
    id_ = v.next_domain
    v.next_domain += 1
    name = v.new_name(rng, "new")
    d = _VDomain(id_, name, {}, [])
    v.doms[id_] = d
    v.ids.append(id_)
    fallback = rng.choice(("", "postmaster", "@" + REMOTE))
    sql = "INSERT INTO domains (id, name, fallback) VALUES (%d, %s, %s);\n" % (
        id_, _q(name), _q(fallback))
    keys = ["unknown@" + name]
    for local in ["postmaster"] + [v.new_local(rng, d) for _ in range(rng.randrange(1, 4))]:
        a = v.add_address(d, local)
        sql += ("INSERT INTO addresses (id, domain_id, local_part, mailbox, password) VALUES"
                " (%d, %d, %s, TRUE, %s);\n" % (a, id_, _q(local), _q(DUMMY_HASH)))
        keys.append(local + "@" + name)
    return sql, "new domain %s" % name, keys


def _m_delete_domain(v, rng):
    d = v.pick(rng)
    if d is None or len(v.ids) - len(v.dead) < 3:
        return None
    v.dead.add(d.id)
    for name in d.aliases:
        v.names.discard(name)
        v.alias_owner.pop(name, None)
    v.names.discard(d.name)
    keys = ["x@" + d.name] + [a + "@" + d.name for a in list(d.locals)[:3]]
    return "DELETE FROM domains WHERE id = %d;\n" % d.id, "delete domain %s" % d.name, keys


def _m_rename_domain(v, rng):
    d = v.pick(rng)
    if d is None:
        return None
    new = v.new_name(rng, "renamed")
    old = d.name
    v.names.discard(old)
    d.name = new
    keys = []
    for local in list(d.locals)[:3]:
        keys += [local + "@" + old, local + "@" + new]
    return ("UPDATE domains SET name = %s WHERE id = %d;\n" % (_q(new), d.id),
            "rename domain %s to %s" % (old, new), keys or ["x@" + new])


def _m_move_address(v, rng):
    d = v.pick(rng, with_addresses=True)
    other = v.pick(rng)
    if d is None or other is None or other is d:
        return None
    local, id_ = v.address(rng, d)
    if local in other.locals:
        return None
    del d.locals[local]
    other.locals[local] = id_
    return ("UPDATE addresses SET domain_id = %d WHERE id = %d;\n" % (other.id, id_),
            "move %s@%s to %s" % (local, d.name, other.name),
            [local + "@" + d.name, local + "@" + other.name])


_MUTATIONS = (
    (_m_add_mailbox, 8), (_m_add_alias, 8), (_m_remove_address, 6), (_m_recreate_address, 3),
    (_m_rename_address, 3), (_m_change_forward, 10), (_m_toggle_address, 6),
    (_m_address_settings, 6), (_m_domain_settings, 8), (_m_fallback, 6), (_m_grant, 8),
    (_m_admin, 5), (_m_vacation, 5), (_m_domain_alias, 8), (_m_add_domain, 3),
    (_m_delete_domain, 3), (_m_rename_domain, 3), (_m_move_address, 2),
)


# -- edge cases -------------------------------------------------------------------------------
# A domain's copy holds the names of logins from other domains (grants, administrators), so a
# change in the login's domain must reach the copies of the domains it may send for. Each
# function picks rows of the loaded data that make the change visible (an SMTP login of an
# enabled domain, rights on another domain); None when the data has none.


def _login_ok(a):
    return (a.enabled and a.password and a.domain.enabled and "smtp" in a.logins.split(",")
            and "smtp" in a.domain.logins.split(","))


def _cross_admins(v):
    """Administrators of another domain than their own, SMTP logins first (their loss or gain
    shows in sender_logins too, not only in the copy's data), each offered to one edge case
    only (the view does not follow domain_admins rows)."""
    admins = sorted(v.ds.admins, key=lambda x: not _login_ok(x[0]))
    for a, d in admins:
        if a.domain is not d and a.domain.id not in v.dead and d.id not in v.dead and \
                a.id not in v.used and a.id in v.dom(a.domain.id).locals.values():
            v.used.add(a.id)
            yield a, d


def _grant_holders(v):
    """(holder, its current local part, target domain, granted local part) of grants on
    another domain, each offered to one edge case only."""
    for holder, target, local in v.ds.grants:
        if holder.domain is not target and _login_ok(holder) and target.enabled and \
                holder.domain.id not in v.dead and target.id not in v.dead and \
                holder.id not in v.used:
            h = v.dom(holder.domain.id)
            now = next((l for l, i in h.locals.items() if i == holder.id), None)
            if now is not None:
                v.used.add(holder.id)
                yield holder, now, target, local


def _e_rename_grant_holders_domain(v, rng):
    for holder, now, target, local in _grant_holders(v):
        d = v.dom(holder.domain.id)
        old = d.name
        new = v.new_name(rng, "renamed")
        v.names.discard(old)
        d.name = new
        return ("UPDATE domains SET name = %s WHERE id = %d;\n" % (_q(new), d.id),
                "edge: rename domain %s, whose %s may send as %s@%s, to %s" % (
                    old, now, local or "*", target.name, new),
                [(local or "anyone") + "@" + target.name, now + "@" + new])
    return None


def _e_rename_admin(v, rng):
    for a, d in _cross_admins(v):
        h = v.dom(a.domain.id)
        local = next((l for l, i in h.locals.items() if i == a.id), None)
        if local is None:
            continue
        new = v.new_local(rng, h)
        del h.locals[local]
        h.locals[new] = a.id
        return ("UPDATE addresses SET local_part = %s WHERE id = %d;\n" % (_q(new), a.id),
                "edge: rename %s@%s, administrator of %s, to %s" % (local, h.name, d.name, new),
                ["anyone@" + d.name, new + "@" + h.name])
    return None


def _e_move_admin_row(v, rng):
    for a, d in _cross_admins(v):
        other = v.pick(rng)
        if other is None or other.id in (d.id, a.domain.id):
            continue
        return ("UPDATE domain_admins SET domain_id = %d WHERE address_id = %d AND domain_id = %d"
                ";\n" % (other.id, a.id, d.id),
                "edge: %s administers %s instead of %s (UPDATE domain_admins)" % (
                    a.local, other.name, d.name),
                ["anyone@" + d.name, "anyone@" + other.name])
    return None


def _e_recreate_admin(v, rng):
    for a, d in _cross_admins(v):
        h = v.dom(a.domain.id)
        local = next((l for l, i in h.locals.items() if i == a.id), None)
        if local is None:
            continue
        id_ = v.add_address(h, local)
        return ("DELETE FROM addresses WHERE id = %d;\n"
                "INSERT INTO addresses (id, domain_id, local_part, mailbox, password) VALUES"
                " (%d, %d, %s, TRUE, %s);\n" % (a.id, id_, h.id, _q(local), _q(DUMMY_HASH)),
                "edge: delete %s@%s, administrator of %s, and add a new address of that name" % (
                    local, h.name, d.name),
                ["anyone@" + d.name, local + "@" + h.name])
    return None


def _e_move_admin_address(v, rng):
    for a, d in _cross_admins(v):
        h = v.dom(a.domain.id)
        local = next((l for l, i in h.locals.items() if i == a.id), None)
        other = v.pick(rng)
        if local is None or other is None or other.id in (d.id, h.id) or local in other.locals:
            continue
        del h.locals[local]
        other.locals[local] = a.id
        return ("UPDATE addresses SET domain_id = %d WHERE id = %d;\n" % (other.id, a.id),
                "edge: move %s@%s, administrator of %s, to %s" % (local, h.name, d.name,
                                                                  other.name),
                ["anyone@" + d.name, local + "@" + other.name])
    return None


def _e_replace_admins_domain(v, rng):
    for a, d in _cross_admins(v):
        h = v.dom(a.domain.id)
        local = next((l for l, i in h.locals.items() if i == a.id), None)
        if local is None:
            continue
        v.dead.add(h.id)
        for name in h.aliases:
            v.names.discard(name)
            v.alias_owner.pop(name, None)
        id_ = v.next_domain
        v.next_domain += 1
        fresh = _VDomain(id_, h.name, {}, [])
        v.doms[id_] = fresh
        v.ids.append(id_)
        addr = v.add_address(fresh, local)
        return ("DELETE FROM domains WHERE id = %d;\n"
                "INSERT INTO domains (id, name) VALUES (%d, %s);\n"
                "INSERT INTO addresses (id, domain_id, local_part, mailbox, password) VALUES"
                " (%d, %d, %s, TRUE, %s);\n" % (h.id, id_, _q(h.name), addr, id_, _q(local),
                                                 _q(DUMMY_HASH)),
                "edge: delete domain %s (its %s administers %s) and add it again with a new %s"
                % (h.name, local, d.name, local),
                ["anyone@" + d.name, local + "@" + h.name])
    return None


def _e_rename_grant_holder(v, rng):
    # A control: address renames do reach the domains the address holds grants on.
    for holder, old, target, local in _grant_holders(v):
        h = v.dom(holder.domain.id)
        new = v.new_local(rng, h)
        del h.locals[old]
        h.locals[new] = holder.id
        return ("UPDATE addresses SET local_part = %s WHERE id = %d;\n" % (_q(new), holder.id),
                "edge: rename %s@%s, who may send as %s@%s, to %s" % (
                    old, h.name, local or "*", target.name, new),
                [(local or "anyone") + "@" + target.name, new + "@" + h.name])
    return None


_EDGE_CASES = (_e_rename_grant_holder, _e_rename_grant_holders_domain, _e_rename_admin,
               _e_move_admin_row, _e_recreate_admin, _e_move_admin_address,
               _e_replace_admins_domain)


if __name__ == "__main__":
    # python3 vhm_routing_data.py SEED DOMAINS MAILBOXES ALIASES [plain] > data.sql
    args = sys.argv[1:]
    if len(args) not in (4, 5):
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    t = time.monotonic()
    ds = generate(int(args[0]), int(args[1]), int(args[2]), int(args[3]),
                  variety=len(args) == 4)
    print("generated in %.1f s: %s" % (time.monotonic() - t, ds.counts), file=sys.stderr)
    for chunk in ds.sql_chunks():
        sys.stdout.write(chunk)
