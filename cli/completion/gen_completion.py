#!/usr/bin/env python3
"""Writes bash and zsh completions for programs, from their --help (which
they print from their own option tables; cli/helpscan.py reads it).

usage: gen_completion.py BASH_DIR ZSH_DIR PROGRAM...

BASH_DIR/<program> is a bash completion (bash-completion loads it by the
command's name, and it also works sourced on its own: it uses only compgen);
ZSH_DIR/_<program> a zsh one (#compdef).
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import helpscan  # noqa: E402

# Placeholders whose values are files or directories.
FILE_ARGS = {"FILE", "IMAGE", "CA", "CERT", "KEY", "CSR", "CACERT"}
DIR_ARGS = {"DIR"}
FILE_OPTS = {"socket"}  # --socket PATH is a file, --path PATH is not


def arg_kind(o):
    """'file', 'dir', ('words', [...]) or None for an option's value."""
    if o.arg is None:
        return None
    if o.long in FILE_OPTS or o.arg in FILE_ARGS:
        return "file"
    if o.arg in DIR_ARGS:
        return "dir"
    if re.fullmatch(r"[a-z0-9]+(\|[a-z0-9]+)+", o.arg):
        return ("words", o.arg.split("|"))
    return None


def option_words(opts):
    words = []
    for o in sorted(opts.values(), key=lambda o: o.long):
        words.append("--" + o.long)
        if o.short:
            words.append("-" + o.short)
    return words


def bash_value_cases(opts):
    """case arms completing the value of prev, one per kind."""
    kinds = {}
    for o in opts.values():
        k = arg_kind(o)
        names = ["--" + o.long] + (["-" + o.short] if o.short else [])
        if o.arg is None:
            continue
        key = k if not isinstance(k, tuple) else "words:" + " ".join(k[1])
        kinds.setdefault(key, []).extend(names)
    arms = []
    for key, names in sorted(kinds.items(), key=lambda kv: str(kv[0])):
        pat = "|".join(sorted(set(names)))
        if key == "file":
            body = 'COMPREPLY=($(compgen -f -- "$cur"))'
        elif key == "dir":
            body = 'COMPREPLY=($(compgen -d -- "$cur"))'
        elif key is not None and key.startswith("words:"):
            body = f'COMPREPLY=($(compgen -W "{key[6:]}" -- "$cur"))'
        else:
            body = "COMPREPLY=()"
        arms.append(f"\t\t{pat}) {body}; return ;;")
    return "\n".join(arms)


def bash(prog):
    fn = "_" + re.sub(r"[^A-Za-z0-9_]", "_", prog.name)
    out = [f"# bash completion for {prog.name}, made from `{prog.name} --help` "
           f"by cli/completion/gen_completion.py",
           f"{fn}()", "{", "\tlocal cur=${COMP_WORDS[COMP_CWORD]}",
           "\tlocal prev=${COMP_WORDS[COMP_CWORD-1]}"]
    if prog.commands:
        names = []
        for c in prog.commands.values():
            names.append(c.name)
            names.extend(c.aliases)
        top = names + (option_words(prog.options) or ["--help"])
        out += ["\tif [ \"$COMP_CWORD\" -eq 1 ]; then",
                f"\t\tCOMPREPLY=($(compgen -W \"{' '.join(top)}\" -- \"$cur\"))",
                "\t\treturn", "\tfi", "\tcase ${COMP_WORDS[1]} in"]
        for c in prog.commands.values():
            pat = "|".join([c.name] + c.aliases)
            cases = bash_value_cases(c.options)
            out += [f"\t{pat})", "\t\tcase $prev in"]
            if cases:
                out.append(cases)
            out += ["\t\tesac",
                    "\t\tif [[ $cur == -* ]]; then",
                    f"\t\t\tCOMPREPLY=($(compgen -W \"{' '.join(option_words(c.options))}\" -- \"$cur\"))",
                    "\t\telse",
                    "\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))",
                    "\t\tfi", "\t\t;;"]
        out += ["\tesac"]
    else:
        cases = bash_value_cases(prog.options)
        out += ["\tcase $prev in"]
        if cases:
            out.append(cases)
        out += ["\tesac",
                "\tif [[ $cur == -* ]]; then",
                f"\t\tCOMPREPLY=($(compgen -W \"{' '.join(option_words(prog.options))}\" -- \"$cur\"))",
                "\telse",
                "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))",
                "\tfi"]
    out += ["}", f"complete -F {fn} {prog.name}", ""]
    return "\n".join(out)


def zsh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def zsh_desc(s):
    """Text inside an _arguments [description]."""
    return re.sub(r"([\[\]:\\])", r"\\\1", s)


def zsh_specs(opts):
    specs = []
    for o in sorted(opts.values(), key=lambda o: o.long):
        desc = zsh_desc(o.help)
        k = arg_kind(o)
        if o.arg is None:
            action = ""
        elif k == "file":
            action = f":{zsh_desc(o.arg)}:_files"
        elif k == "dir":
            action = f":{zsh_desc(o.arg)}:_files -/"
        elif isinstance(k, tuple):
            action = f":{zsh_desc(o.arg)}:({' '.join(k[1])})"
        else:
            action = f":{zsh_desc(o.arg)}: "
        names = ["--" + o.long] + (["-" + o.short] if o.short else [])
        for n in names:
            specs.append(zsh_quote(f"*{n}[{desc}]{action}"))
    specs.append(zsh_quote("*:argument:_files"))
    return specs


def zsh(prog):
    fn = "_" + prog.name
    out = [f"#compdef {prog.name}",
           f"# zsh completion for {prog.name}, made from `{prog.name} --help` "
           f"by cli/completion/gen_completion.py", ""]
    if prog.commands:
        out += [f"{fn}() {{", "\tlocal -a cmds", "\tcmds=("]
        for c in prog.commands.values():
            for n in [c.name] + c.aliases:
                out.append("\t\t" + zsh_quote(f"{n}:{c.doc.replace(':', ' ')}"))
        out += ["\t)", "\tif (( CURRENT == 2 )); then",
                "\t\t_describe command cmds", "\t\treturn", "\tfi",
                "\tlocal cmd=$words[2]", "\tshift words", "\t(( CURRENT-- ))",
                "\tcase $cmd in"]
        for c in prog.commands.values():
            out.append(f"\t{'|'.join([c.name] + c.aliases)})")
            out.append("\t\t_arguments -s " + " \\\n\t\t\t".join(zsh_specs(c.options)) + " ;;")
        out += ["\tesac", "}"]
    else:
        out += [f"{fn}() {{",
                "\t_arguments -s " + " \\\n\t\t".join(zsh_specs(prog.options)),
                "}"]
    out += ["", f'{fn} "$@"', ""]
    return "\n".join(out)


def main():
    bash_dir, zsh_dir, exes = sys.argv[1], sys.argv[2], sys.argv[3:]
    for exe in exes:
        prog = helpscan.scan(exe)
        with open(os.path.join(bash_dir, prog.name), "w") as f:
            f.write(bash(prog))
        with open(os.path.join(zsh_dir, "_" + prog.name), "w") as f:
            f.write(zsh(prog))


if __name__ == "__main__":
    main()
