"""What a program's --help says: its options and subcommands.

Read by the man page agreement test (tests/docs/check_man_help.py) and the
shell completion generator (cli/completion/gen_completion.py), so that both
follow --help, which the programs print from their own option tables.

Three shapes of help are understood:
- an option list: lines "  -v, --verbose  ...", "      --tmpdir DIR  ...";
- a "Commands:" section of "  name  doc" lines (alb-deploy, alb-info),
  each command with a --help of its own (its options, and an alias in
  "(also available as 'PROG ALIAS')");
- usage lines "PROG SUBCOMMAND ARGS [--opt VALUE]..." (alb-ca, alb-oci),
  with the program's own options in a line "PROG [--opt VALUE]... COMMAND"
  or an option list.
"""
import os
import re
import subprocess

OPT_LINE = re.compile(r"^\s+(?:-([A-Za-z0-9]),\s+)?--([a-z0-9][a-z0-9-]*)(?:[ =](\S+))?(?:\s+(.*))?$")
OPT_BRACKET = re.compile(r"\[(?:-([A-Za-z0-9])\|)?--([a-z0-9][a-z0-9-]*)(?: ([^\]]+))?\]")
CMD_LINE = re.compile(r"^  ([a-z][a-z0-9-]*)(?:\s{2,}(.*))?$")
ALIAS = re.compile(r"\(also available as '\S+ ([a-z][a-z0-9-]*)'\)")


class Option:
    def __init__(self, long, short=None, arg=None, help=""):
        self.long = long    # without "--"
        self.short = short  # one character or None
        self.arg = arg      # placeholder of the value, None for a flag
        self.help = help    # its line of help, "" if none

    def __repr__(self):
        return f"--{self.long}" + (f"/-{self.short}" if self.short else "")


class Command:
    def __init__(self, name, doc=""):
        self.name = name
        self.doc = doc
        self.aliases = []
        self.options = {}  # long -> Option


class Program:
    def __init__(self, name):
        self.name = name
        self.options = {}   # long -> Option: the program's own (no subcommand)
        self.commands = {}  # name -> Command

    def all_options(self):
        """Every option of the program and of all its commands, by long name."""
        out = dict(self.options)
        for c in self.commands.values():
            out.update(c.options)
        return out


def run_help(exe, args=()):
    """stdout of `exe args... --help`; it must exit 0."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    r = subprocess.run([exe, *args, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{exe} {' '.join(args)} --help exited with "
                           f"{r.returncode}: {r.stderr.strip()}")
    return r.stdout


def parse_options(text):
    """The options an option list or usage lines define, by long name."""
    opts = {}
    for line in text.splitlines():
        m = OPT_LINE.match(line)
        if m:
            short, long, arg, help = m.groups()
            opts[long] = Option(long, short, arg, (help or "").strip())
            continue
        for m in OPT_BRACKET.finditer(line):
            short, long, arg = m.group(1), m.group(2), m.group(3)
            opts.setdefault(long, Option(long, short, arg))
    return opts


def commands_section(text):
    """(name, doc) listed under a "Commands:" heading, up to the next blank
    line."""
    names, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = CMD_LINE.match(line)
            if m:
                names.append((m.group(1), (m.group(2) or "").strip()))
    return names


USAGE_OPT = re.compile(r"--([a-z0-9][a-z0-9-]*)(?: ([^\s\[\]|-][^\s\]]*))?")


def usage_options(text):
    """The options of a usage line: every --name, bracketed or not, with the
    placeholder that follows it."""
    return {m.group(1): Option(m.group(1), None, m.group(2))
            for m in USAGE_OPT.finditer(text)}


def usage_lines(text, prog):
    """(commands, program options) of usage-shaped help: each line
    "[usage:] PROG COMMAND ARGS [--opt VALUE]..." is a command; a line
    "[usage:] PROG [--opt VALUE]..." gives the program's own options, as do
    option-list lines."""
    line_re = re.compile(r"^\s*(?:[Uu]sage:)?\s*" + re.escape(prog) + r"(?=\s|$)(.*)$")
    cmds, top = {}, {}
    for line in text.splitlines():
        m = line_re.match(line)
        if m is None:
            top.update(parse_options(line))
            continue
        c = re.match(r"\s+([a-z][a-z0-9-]*)\b(.*)$", m.group(1))
        if c:
            cmds.setdefault(c.group(1), {}).update(usage_options(c.group(2)))
        else:
            top.update(usage_options(m.group(1)))
    return cmds, top


def scan(exe):
    """The Program that exe's --help (and its commands' --help) describe."""
    name = os.path.basename(exe)
    top = run_help(exe)
    p = Program(name)
    listed = commands_section(top)
    if listed:
        for cname, doc in listed:
            text = run_help(exe, [cname])
            c = Command(cname, doc)
            c.options = parse_options(text)
            c.aliases = ALIAS.findall(text)
            p.commands[cname] = c
        return p
    cmds, p.options = usage_lines(top, name)
    for cname, opts in cmds.items():
        c = Command(cname)
        c.options = opts
        p.commands[cname] = c
    return p
