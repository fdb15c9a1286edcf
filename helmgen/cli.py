"""The command line (the only module that knows click)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from helmgen import __version__

COMMANDS = ("generate", "validate", "schema", "init")


class _DefaultGenerate(click.Group):
    """`helmgen SPEC` means `helmgen generate SPEC`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["generate", *args]
        return super().parse_args(ctx, args)


def _spec_or_exit(path: str) -> Any:
    from helmgen.problems import SpecError
    from helmgen.spec.check import load_spec

    try:
        return load_spec(path)
    except SpecError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        n = len(exc.problems)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing written.", err=True)
        sys.exit(2)


@click.group(cls=_DefaultGenerate, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="helmgen")
def cli() -> None:
    """Generate a production-grade Helm chart for a multi-agent system from one spec.

    \b
    helmgen SPEC                  same as: helmgen generate SPEC
    helmgen generate SPEC -o DIR  write the chart to DIR/<name>/
    helmgen validate SPEC         check the spec only (exit 0 or 2)
    helmgen schema                print the spec's JSON Schema
    helmgen init [NAME]           write a commented starter spec
    """


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the chart into (as DIR/<name>/).")
@click.option("--force", is_flag=True, help="Replace a chart that already exists there.")
def generate(spec: str, output: str, force: bool) -> None:
    """Write the chart for SPEC to OUTPUT/<name>/."""
    from helmgen.chart.render import render_chart
    from helmgen.write import TargetExists, write_chart

    model = _spec_or_exit(spec)
    files = render_chart(model)
    target = Path(output) / model.name
    try:
        write_chart(files, target, force)
    except TargetExists as exc:
        click.echo(f"helmgen: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {target}/ ({len(files)} files, {len(model.agents)} agents)")


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
def validate(spec: str) -> None:
    """Check SPEC; print every problem (exit 2) or nothing bad (exit 0)."""
    model = _spec_or_exit(spec)
    click.echo(f"{spec}: ok ({len(model.agents)} agents)")


@cli.command()
def schema() -> None:
    """Print the spec's JSON Schema (for editors: # yaml-language-server: $schema=...)."""
    import json

    from helmgen.spec.fields import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


@cli.command()
@click.argument("name", default="my-agents")
@click.option("-o", "--output", "output", default=None, type=click.Path(dir_okay=False),
              help="File to write (default: NAME.yaml).")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def init(name: str, output: str | None, force: bool) -> None:
    """Write a commented starter spec."""
    import re

    from helmgen.starter import starter_spec

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) or len(name) > 53:
        raise click.BadParameter("lowercase letters, digits and '-', at most 53 characters", param_hint="NAME")
    path = Path(output or f"{name}.yaml")
    if path.exists() and not force:
        click.echo(f"helmgen: {path} already exists (use --force to overwrite it)", err=True)
        sys.exit(2)
    path.write_text(starter_spec(name))
    click.echo(f"wrote {path}; next: helmgen generate {path}")


def main() -> None:
    try:
        cli.main(prog_name="helmgen", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("helmgen: interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # an unexpected failure: one line, exit 1
        click.echo(f"helmgen: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
