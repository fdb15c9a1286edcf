"""The command line (the only module that knows click)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from helmgen import __version__
from helmgen.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED, HelmgenError, OutOfDate

if TYPE_CHECKING:
    from helmgen.deploy import Revision
    from helmgen.publish import Signing
    from helmgen.spec.model import Spec


class _DefaultGenerate(click.Group):
    """`helmgen SPEC` means `helmgen generate SPEC`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            if not Path(args[0]).exists():  # a misspelt command, not a spec: say so instead of "no such file"
                import difflib

                close = difflib.get_close_matches(args[0], list(self.commands), n=1, cutoff=0.7)
                if close:
                    raise click.UsageError(f"no such command {args[0]!r} (did you mean {close[0]}?)", ctx)
            args = ["generate", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        """The one place an error becomes output and an exit code (here rather than in main(), so that
        click's test runner on `cli` sees the same exit codes)."""
        try:
            return super().invoke(ctx)
        except HelmgenError as exc:
            for line in exc.report():
                click.echo(line, err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # else click says "Aborted!" and exits 1
            click.echo("helmgen: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


class _HelmOptions(click.Command):
    """A command whose unknown options go to Helm as they are. Click splits a cluster of short options
    into letters and would take its own `-o` or `-h` out of Helm's `-nagents` or `-n=agents`; a cluster
    that does not start with one of this command's short options reaches Helm whole."""

    _WHOLE = "--helmgen-whole:"  # click passes an unknown long option on whole

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        own = {o for p in self.get_params(ctx) for o in [*p.opts, *p.secondary_opts] if not o.startswith("--")}
        marked: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                marked += args[i:]
                break
            whole = arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and arg[:2] not in own
            marked.append(self._WHOLE + arg if whole else arg)
        rest = super().parse_args(ctx, marked)
        for name, value in ctx.params.items():
            if isinstance(value, tuple):
                ctx.params[name] = tuple(v.removeprefix(self._WHOLE) if isinstance(v, str) else v for v in value)
        for param in self.params:  # click gives an option written before SPEC / RELEASE that argument's place
            value = ctx.params.get(param.name or "")
            if isinstance(param, click.Argument) and param.nargs == 1 and isinstance(value, str) and \
                    value.startswith("-"):
                what = param.human_readable_name
                raise click.UsageError(f"{what} comes before Helm's options: helmgen {ctx.info_name} {what} "
                                       f"[OPTIONS] [HELM_OPTIONS] (found {value.removeprefix(self._WHOLE)!r} "
                                       f"in its place; a file named -x is ./-x)", ctx)
        return rest


def _load(path: str, writes: bool = True) -> Spec:
    """The model of the spec at `path`, its warnings printed; a SpecError says whether nothing was written."""
    from helmgen.problems import SpecError
    from helmgen.spec import load_spec

    try:
        model = load_spec(path)
    except SpecError as exc:
        if writes:
            exc.summary = exc.summary.removesuffix(".") + "; nothing written."
        raise
    for w in model.warnings:  # risky but valid: said, and the command goes on (exit code 0)
        click.echo(w.format(path), err=True)
    return model


def _check_env(model: Spec, env: str | None) -> None:
    if env is not None and env not in model.environments:
        known = ", ".join(model.environments) or "none"
        raise click.UsageError(f"no environment named {env!r} (environments: {known})")


# Helm's rule for a release name (ValidateReleaseName), checked before Helm runs: bad input, exit code 2
_RELEASE_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


def _check_release(name: str) -> None:
    import re

    if not re.fullmatch(_RELEASE_NAME[1:-1], name) or len(name) > 53:
        raise click.UsageError(f"--release: release name {name!r}: invalid release name, must match regex "
                               f"{_RELEASE_NAME} and the length must not be longer than 53")


@click.group(cls=_DefaultGenerate, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="helmgen")
def cli() -> None:
    """Generate a production-grade Helm chart for a multi-agent system from one spec.

    \b
    helmgen SPEC                  same as: helmgen generate SPEC
    helmgen generate SPEC -o DIR  write the chart to DIR/<name>/
    helmgen validate SPEC         check the spec only (exit 0 or 2)
    helmgen template SPEC [--env ENV] [helm template options]
    helmgen diff SPEC ENV_A ENV_B what differs between two environments
    helmgen images SPEC [--env ENV]  every image a release pulls
    helmgen publish SOURCE --to oci://HOST/PATH | FOLDER  [--sign ...] [--bump patch]
    helmgen promote SPEC AGENT    canary -> the agent's version, or switch blue/green (edits SPEC)
    helmgen abort SPEC AGENT      drop a canary (edits SPEC)
    helmgen deploy SPEC [--env ENV] [--release NAME] [--dry-run] [helm options]
    helmgen rollback RELEASE [REVISION | --to-version CHART_VERSION]
    helmgen history RELEASE       revisions with chart version, environment, deployment id
    helmgen schema                print the spec's JSON Schema
    helmgen init [NAME]           write a commented starter spec
    """


@cli.command()
@click.argument("spec", type=click.Path())
@click.option("-o", "--output", "output", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the chart into (as DIR/<name>/).")
@click.option("--force", is_flag=True, help="Write into a folder whose files helmgen does not own (no record, e.g. a "
                                            "0.1.0 chart): your files at paths the chart needs are replaced (each one "
                                            "is listed), the others kept.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and list the files that differ from what "
                                            "the spec generates, exit 0 when the chart is up to date.")
def generate(spec: str, output: str, force: bool, check: bool) -> None:
    """Write the chart for SPEC to OUTPUT/<name>/.

    Regenerating replaces only the files helmgen owns (those its record in the chart,
    .helmgen-manifest.json, names); files you added to the chart folder are kept as they are.
    """
    from helmgen.chart import render_chart
    from helmgen.write import WriteError, differences, write_chart

    model = _load(spec)
    files = render_chart(model)
    target = Path(output) / model.name
    if check:
        try:  # exit 1 is kept for "out of date": a chart that cannot be read is exit 2
            diff = differences(files, target)
        except OSError as exc:
            raise WriteError(f"{exc.filename or target}: {exc.strerror or exc}") from exc
        for d in diff:
            click.echo(f"{target}/{d.path}: {d.kind}")
        if diff:
            files_ = f"{len(diff)} file{'s' if len(diff) != 1 else ''}"
            raise OutOfDate(f"{target}/ is not what {spec} generates ({files_}); run: helmgen generate {spec} -o {output}")
        click.echo(f"{target}/ is up to date")
        return
    try:
        report = write_chart(files, target, force)
    except WriteError as exc:
        exc.epilogue.append("nothing written.")
        raise
    except OSError as exc:  # a full disk, a folder that vanished: the previous chart is as it was
        raise WriteError(f"{exc.filename or target}: {exc.strerror or exc}; the previous chart is left as it was") \
            from exc
    for rel in report.replaced_user_files:
        click.echo(f"helmgen: replaced your file {target}/{rel} (--force)", err=True)
    for rel in report.replaced_edited_files:
        click.echo(f"helmgen: replaced {target}/{rel}, which was edited since helmgen wrote it "
                   "(helmgen owns it: put the change in the spec or in a file of your own)", err=True)
    for rel in report.kept_edited_files:
        click.echo(f"helmgen: kept {target}/{rel}: helmgen no longer generates it, but it was edited since "
                   "helmgen wrote it, so it is yours now (delete it if you do not need it)", err=True)
    click.echo(f"wrote {target}/ ({len(files)} files, {len(model.agents)} agents)")


def _template_args(model: Spec, chart: Path, env: str | None, release: str, placeholder_secrets: bool) -> list[str]:
    """`helm template` of a generated chart, with values-<env>.yaml for an environment."""
    args = ["template", release, str(chart)]
    if env is not None:
        args += ["-f", str(chart / f"values-{env}.yaml")]
    if placeholder_secrets:  # a diff compares objects, not secret values
        for s in model.secrets.values():
            if not s.existingSecret and not s.external:
                for key in s.keys:
                    args += ["--set-string", f"secrets.{s.name}.values.{key}=placeholder"]
    return args


def _fetch_dependencies(chart: Path, plain_http: bool) -> None:
    """Fetch the subcharts a chart's Chart.yaml names when charts/ lacks them (rendering and packaging
    need them; generate never fetches), and say so on stderr."""
    from helmgen.helm import build_dependencies, missing_dependencies

    missing = missing_dependencies(str(chart))
    stale = [m for m in missing if m.endswith(" (not in Chart.yaml)")]
    if len(stale) < len(missing):
        click.echo(f"helmgen: fetching the dependencies charts/ lacks: "
                   f"{', '.join(m for m in missing if m not in stale)}", err=True)
    if stale:
        click.echo(f"helmgen: charts/ holds subcharts Chart.yaml no longer names, which Helm would still "
                   f"install: {', '.join(s.removesuffix(' (not in Chart.yaml)') for s in stale)}", err=True)
    if missing:
        click.echo(f"helmgen: ran {build_dependencies(str(chart), plain_http)}", err=True)


def _local_paths_resolved(model: Spec) -> Spec:
    """The model with each relative file:// dependency made absolute, read from ./<name>/ (where
    `helmgen generate SPEC` puts the chart), for a chart rendered in a temporary folder."""
    import dataclasses
    import os

    deps = {k: dataclasses.replace(d, repository="file://" + os.path.abspath(os.path.join(
        model.name, d.repository[len("file://"):])))
            if d.repository.startswith("file://") and not d.repository.startswith("file:///") else d
            for k, d in model.dependencies.items()}
    return dataclasses.replace(model, dependencies=deps) if deps != model.dependencies else model


def _render_envs(model: Spec, envs: list[str | None], helm_args: tuple[str, ...], release: str,
                 placeholder_secrets: bool = False) -> list[str]:
    """Generate once into a temporary folder and `helm template` it for each environment (at once)."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from helmgen.chart import render_chart
    from helmgen.helm import run
    from helmgen.write import write_chart

    for env in envs:
        _check_env(model, env)
    with tempfile.TemporaryDirectory(prefix="helmgen-") as tmp:
        chart = Path(tmp) / model.name
        write_chart(render_chart(_local_paths_resolved(model)), chart)
        commands = [[*_template_args(model, chart, env, release, placeholder_secrets), *helm_args] for env in envs]
        if model.dependencies:
            _fetch_dependencies(chart, "--plain-http" in helm_args)
        if len(commands) == 1:
            return [run(*commands[0])]
        with ThreadPoolExecutor(len(commands)) as pool:  # each Helm is its own process
            return list(pool.map(lambda args: run(*args), commands))


@cli.command(cls=_HelmOptions, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("spec", type=click.Path())
@click.option("--env", "env", default=None, help="Render with values-<ENV>.yaml.")
@click.option("--release", default=None, help="Release name (default: the chart name).")
@click.argument("helm_args", nargs=-1, type=click.UNPROCESSED)
def template(spec: str, env: str | None, release: str | None, helm_args: tuple[str, ...]) -> None:
    """Print the manifests SPEC renders to (for GitOps): generates into a temporary folder and
    runs `helm template`; extra options (--set, -f, --namespace, ...) go to Helm."""
    model = _load(spec, writes=False)
    _check_release(release or model.name)
    click.echo(_render_envs(model, [env], helm_args, release or model.name)[0], nl=False)


@cli.command()
@click.argument("spec", type=click.Path())
@click.argument("env_a")
@click.argument("env_b")
@click.option("--release", default=None, help="Release name (default: the chart name).")
@click.option("--color/--no-color", default=None, help="Colour the diff (default: when the output is a terminal).")
def diff(spec: str, env_a: str, env_b: str, release: str | None, color: bool | None) -> None:
    """What differs between two environments, object by object, in the rendered manifests.
    `base` names values.yaml alone (unless an environment is called base)."""
    from helmgen.diff import unified

    model = _load(spec, writes=False)
    name = release or model.name
    _check_release(name)

    def env_of(e: str) -> str | None:
        return None if e == "base" and "base" not in model.environments else e

    envs = list(dict.fromkeys([env_of(env_a), env_of(env_b)]))  # one environment against itself renders once
    rendered = _render_envs(model, envs, (), name, placeholder_secrets=True)
    a, b = rendered[0], rendered[-1]
    use_color = sys.stdout.isatty() if color is None else color
    text, changed = unified(env_a, a, env_b, b, color=use_color)
    click.echo(text, nl=False, color=use_color)
    click.echo(f"{changed} object{'s' if changed != 1 else ''} differ{'s' if changed == 1 else ''} "
               f"between {env_a} and {env_b}", err=True)


@cli.command()
@click.argument("spec", type=click.Path())
@click.option("--env", "env", default=None, help="The images of this environment.")
def images(spec: str, env: str | None) -> None:
    """Print every image a release pulls, one a line (for mirroring into air-gapped registries)."""
    from helmgen.chart.images import images as list_images

    model = _load(spec, writes=False)
    _check_env(model, env)
    for ref in list_images(model.agents if env is None else model.environments[env]):
        click.echo(ref)


@cli.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--to", "target", required=True, help="oci://HOST[:PORT]/PATH, or a folder (a classic chart repository).")
@click.option("--plain-http", is_flag=True, help="The OCI registry speaks HTTP, not HTTPS (Helm 4 needs this even on localhost).")
@click.option("--url", default="", help="Public URL of a classic repository, for its index.yaml.")
@click.option("--sign", is_flag=True, help="Sign the package: a .prov file beside it that `helm verify` accepts.")
@click.option("--key", default="", help="Name of the signing key (with --sign).")
@click.option("--keyring", default="", type=click.Path(dir_okay=False), help="Secret keyring (with --sign).")
@click.option("--passphrase-file", default="", type=click.Path(dir_okay=False), help="The key's passphrase (with --sign).")
@click.option("--bump", type=click.Choice(["patch", "minor", "major"]), default=None,
              help="Raise the version in the spec (only that value changes) once the publish succeeded.")
def publish(source: str, target: str, plain_http: bool, url: str, sign: bool, key: str, keyring: str,
            passphrase_file: str, bump: str | None) -> None:
    """Publish SOURCE (a spec, a chart folder or a packaged .tgz) to a registry or repository.

    A published version never changes: the same content again is a no-op, different content
    under a published version is refused with the next version to use.
    """
    from helmgen import publish as pub
    from helmgen.helm import HelmError

    src = Path(source)
    kind = _publish_kind(src)
    _publish_usage(kind, target, sign, key, keyring, bump)
    signing = pub.Signing(key, keyring, passphrase_file) if sign else None
    bumped: tuple[str, str, str] | None = None
    try:
        _publish_inputs(source, target, url, sign, keyring, passphrase_file)
        with pub.work_dir() as work:
            tgz, prov, bumped = _publish_package(kind, source, work, signing, bump, plain_http)
            package = pub.read_package(tgz, "SOURCE" if kind == "package" else "the package")
            if target.startswith("oci://"):
                result = pub.to_oci(package, target, plain_http, work)
            else:
                result = pub.to_folder(package, Path(target), url, prov)
    except (pub.PublishError, HelmError, OSError) as exc:  # OSError: a folder that cannot be written, a full disk
        _fail(pub.redact(str(exc), target), exc.exit_code if isinstance(exc, HelmgenError) else EXIT_FAILURE)
    word = "already published, unchanged" if result.status == "unchanged" else "published"
    click.echo(pub.redact(f"{result.name} {result.version}: {word} ({result.reference})", target))
    if bumped is not None:
        try:
            _replace_text(src, bumped[0])
        except OSError as exc:
            _fail(f"{source}: cannot raise its version to {bumped[2]} ({exc.strerror or exc}); "
                  f"{result.name} {result.version} is published: raise the version by hand", EXIT_FAILURE)
        click.echo(f"{source}: version {bumped[1]} -> {bumped[2]}")


def _publish_kind(src: Path) -> str:
    """What SOURCE is: "package" (a .tgz or gzip data), "chart" (a folder) or "spec"."""
    if src.is_file() and (src.name.endswith(".tgz") or _gzip(src)):
        return "package"
    return "chart" if src.is_dir() else "spec"


def _publish_usage(kind: str, target: str, sign: bool, key: str, keyring: str, bump: str | None) -> None:
    """Options of publish that do not go together (a usage error)."""
    if bump and kind != "spec":
        raise click.UsageError("--bump raises the version in a spec; SOURCE is a " + kind)
    if sign and not (key and keyring):
        raise click.UsageError("--sign needs --key and --keyring")
    if sign and kind == "package":
        raise click.UsageError("--sign packages the chart itself: give a spec or a chart folder, not a .tgz")
    if "://" in target and not target.startswith("oci://"):
        raise click.UsageError("--to takes oci://HOST/PATH or a folder (a classic repository)")


def _publish_inputs(source: str, target: str, url: str, sign: bool, keyring: str, passphrase_file: str) -> None:
    """Inputs of publish that are wrong before anything is packaged (publish.BadInput)."""
    from helmgen import publish as pub

    src = Path(source)
    if not src.is_dir() and not src.is_file():  # a FIFO or a device: reading it could wait forever
        raise pub.BadInput(f"{source}: not a regular file, a folder or a package")
    if not target.strip():
        raise pub.BadInput("--to is empty: give oci://HOST/PATH or a folder (a classic repository)")
    if target.startswith("oci://"):
        pub.oci_target(target, strict=True)
    if url:
        pub.check_url(url)
    for option, value in (("--keyring", keyring), ("--passphrase-file", passphrase_file)):
        if sign and value and not Path(value).is_file():
            raise pub.BadInput(f"{option} {value}: no such file")


def _publish_package(kind: str, source: str, work: Path, signing: Signing | None, bump: str | None,
                     plain_http: bool) -> tuple[Path, Path, tuple[str, str, str] | None]:
    """The package of SOURCE (built in `work` unless SOURCE is one), the provenance file that goes with it
    (it may not exist), and the spec's text with its version raised (with --bump)."""
    from helmgen import publish as pub

    src = Path(source)
    if kind == "package":
        return src, src.with_name(src.name + ".prov"), None  # a signed package's provenance goes with it
    bumped: tuple[str, str, str] | None = None
    if kind == "spec":
        from helmgen.chart import render_chart
        from helmgen.write import write_chart

        model = _load(source)
        if bump:  # the spec file changes only once the publish succeeded
            bumped = pub.bump_text(src.read_bytes().decode("utf-8"), bump)
            model = _load_bumped(bumped[0], source)
        chart = work / "chart" / model.name
        write_chart(render_chart(model), chart)
        if model.dependencies:
            _fetch_dependencies(chart, plain_http)
    else:
        if not (src / "Chart.yaml").exists():
            raise pub.BadInput(f"{source} is a folder without Chart.yaml")
        pub.check_chart_links(src)
        _fetch_dependencies(src, plain_http)
        chart = src
    tgz = pub.package(chart, work / "pkg", signing)
    return tgz, tgz.with_name(tgz.name + ".prov"), bumped


def _gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _fail(message: str, code: int) -> NoReturn:
    """End the command: every line of the message under helmgen's prefix, and exit code `code`."""
    raise HelmgenError(message, code)


def _load_bumped(text: str, name: str, when: str = "after raising the version") -> Spec:
    """The model of a changed spec's text (its version raised, a canary promoted): its warnings were said
    for the spec as it is."""
    from helmgen.problems import SpecError
    from helmgen.spec import check_text

    try:
        return check_text(text.lstrip("\ufeff"), name)
    except SpecError as exc:
        exc.warnings = []
        exc.summary = f"{len(exc.problems)} problem(s) found {when}; nothing written."
        raise


def _replace_text(path: Path, text: str) -> None:
    """Rewrite a file atomically (a hidden temporary beside it, renamed over it), keeping its mode;
    a symbolic link is followed, so the link stays and the file it names is the one rewritten."""
    import os
    import tempfile

    path = Path(os.path.realpath(path))
    mode = path.stat().st_mode
    if not mode & 0o222 or not os.access(path, os.W_OK):  # a rename would replace it even so (and root may write)
        raise PermissionError(13, f"it is read-only (mode {mode & 0o7777:04o})")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _edit_rollout(spec: str, agent: str, action: str) -> None:
    """promote / abort: edit the spec's text in place, check the result, write it atomically."""
    import shlex

    from helmgen import promote as edits
    from helmgen.problems import SpecError

    model = _load(spec)
    path = Path(spec)
    data = path.read_bytes()
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    text = data.decode("utf-8")[len(bom):]
    try:
        edit = (edits.promote if action == "promote" else edits.abort)(text, spec, agent)
    except SpecError as exc:
        exc.summary = "nothing written."
        raise
    _load_bumped(edit.text, spec, "after the change (places as in the changed spec)")  # must stay valid
    try:
        _replace_text(path, bom + edit.text)
    except OSError as exc:
        _fail(f"{spec}: cannot rewrite it ({exc.strerror or exc}); nothing written", 1)
    detail = f" ({'; '.join(edit.changes)})" if edit.changes else ""
    click.echo(f"{spec}: {edit.summary}{detail}")
    chart = f"./{model.name}"
    click.echo("apply it: " + shlex.join(["helmgen", "generate", spec, "-o", "."]) + " && " +
               shlex.join(["helm", "upgrade", model.name, chart, "--wait"]))
    click.echo("      or: " + shlex.join(["helmgen", "deploy", spec]) + "   (add --env ENV for an environment)")


@cli.command()
@click.argument("spec", type=click.Path())
@click.argument("agent")
def promote(spec: str, agent: str) -> None:
    """Make AGENT's canary its version (image or tag, env, config) or switch its blue-green slot.
    Edits SPEC in place: only the changed lines differ."""
    _edit_rollout(spec, agent, "promote")


@cli.command()
@click.argument("spec", type=click.Path())
@click.argument("agent")
def abort(spec: str, agent: str) -> None:
    """Drop AGENT's canary (its image, tag, env and config; its settings stay). Edits SPEC in place."""
    _edit_rollout(spec, agent, "abort")


def _deploy_dir(release: str) -> Path:
    """Where deploy writes the chart without -o: a cache folder per release, reused by the next deploy."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "helmgen" / "deploy" / release


@cli.command(cls=_HelmOptions, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("spec", type=click.Path())
@click.option("--env", "env", default=None, help="Deploy with values-<ENV>.yaml.")
@click.option("--release", default=None, help="Release name (default: the chart name).")
@click.option("-o", "--output", "output", default=None, type=click.Path(file_okay=False),
              help="Write the chart to DIR/<name>/ (default: $XDG_CACHE_HOME/helmgen/deploy/<release>/).")
@click.option("--dry-run", is_flag=True, help="No cluster call: print the helm command and render the "
                                              "manifests with helm template under the same values and flags.")
@click.argument("helm_args", nargs=-1, type=click.UNPROCESSED)
def deploy(spec: str, env: str | None, release: str | None, output: str | None, dry_run: bool,
           helm_args: tuple[str, ...]) -> None:
    """Generate the chart and run helm upgrade --install RELEASE CHART [-f values-ENV.yaml] --wait,
    rolled back on failure; extra options (--namespace, --set, --timeout, ...) go to Helm."""
    import shlex

    from helmgen import deploy as dep
    from helmgen.chart.render import render_chart
    from helmgen.helm import HelmError, major_version, run, run_live
    from helmgen.write import WriteError, write_chart

    model = _load(spec)
    _check_env(model, env)
    name = release or model.name
    _check_release(name)
    chart = (Path(output) if output is not None else _deploy_dir(name)) / model.name
    try:
        write_chart(render_chart(model if output is not None else _local_paths_resolved(model)), chart)
        major = major_version()
        if model.dependencies:  # helm upgrade and helm template need the subcharts in charts/
            _fetch_dependencies(chart, "--plain-http" in helm_args)
    except WriteError as exc:
        _fail(f"{exc}\nnothing deployed.", 2)
    except HelmError as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"{exc.filename or chart}: {exc.strerror or exc}; nothing deployed", 2)
    helm_args = _plugin_namespace(helm_args)
    args = dep.release_args(name, chart, env, model.digest, major, helm_args)
    command = shlex.join(["helm", *dep.upgrade_command(args)])
    said = f"deployment {dep.deployment_id(model.digest, env)} (env {env or 'values.yaml only'}, spec {model.digest})"
    if dry_run:
        click.echo(f"{said}\nwould run: {command}", err=True)
        kept, dropped = dep.template_options(helm_args)
        if dropped:  # helm template refuses these: said, and rendered without them
            click.echo("helm template leaves out (upgrade only): " + shlex.join(dropped), err=True)
        try:
            click.echo(run(*dep.template_command(dep.release_args(name, chart, env, model.digest, major, kept))),
                       nl=False)
        except HelmError as exc:
            _fail(str(exc), 1)
        return
    click.echo(f"{said}\nrunning: {command}")
    try:
        code = run_live(*dep.upgrade_command(args))
    except HelmError as exc:
        _fail(str(exc), 1)
    if code != 0:
        flag = args[args.index("--wait") + 1]
        _fail(f"helm upgrade failed (exit code {code}): Helm's message is above; with {flag} Helm rolls back "
              "what it had begun to change (nothing, when it could not reach the cluster)", code)


def _plugin_namespace(helm_args: tuple[str, ...]) -> tuple[str, ...]:
    """`helm agentgen -n NS deploy|rollback|history`: Helm takes -n and sets HELM_NAMESPACE. Said in the
    command (unless the options name a namespace), so that the printed command is the exact one."""
    import os

    namespace = os.environ.get("HELM_NAMESPACE")
    if namespace and not any(a == "--namespace" or a.startswith(("--namespace=", "-n")) for a in helm_args):
        return ("--namespace", namespace, *helm_args)
    return helm_args


def _history_or_exit(release: str, helm_args: tuple[str, ...]) -> list[Revision]:
    from helmgen import deploy as dep
    from helmgen.helm import HelmError, run

    try:
        return dep.parse_history(run("history", release, "-o", "json", *helm_args))
    except (HelmError, dep.HistoryError) as exc:
        _fail(str(exc), 1)


@cli.command(cls=_HelmOptions, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("release")
@click.option("--to-version", "to_version", default=None,
              help="Roll back to the newest successful revision that ran this chart version.")
@click.argument("helm_args", nargs=-1, type=click.UNPROCESSED, metavar="[REVISION] [HELM_OPTIONS]...")
def rollback(release: str, to_version: str | None, helm_args: tuple[str, ...]) -> None:
    """helm rollback RELEASE [REVISION] --wait (without REVISION: the previous revision, as Helm does),
    or to a chart version found in helm history."""
    import shlex

    from helmgen import deploy as dep
    from helmgen.helm import HelmError, run_live

    revision = None
    given, helm_args = dep.split_revision(helm_args)  # an optional argument among options click cannot tell apart
    helm_args = _plugin_namespace(helm_args)
    if given is not None:
        if not (given.isascii() and given.isdigit()) or int(given) < 1:
            raise click.BadParameter(f"{given!r} is not a revision number", param_hint="REVISION")
        revision = int(given)
    if revision is not None and to_version is not None:
        raise click.UsageError("give a REVISION or --to-version CHART_VERSION, not both")
    if to_version is not None:
        try:
            found = dep.revision_of_version(_history_or_exit(release, dep.cluster_options(helm_args)), to_version)
        except dep.HistoryError as exc:
            _fail(f"{release}: {exc}", 2)
        revision = found.revision
        click.echo(f"{release}: chart version {to_version} is revision {revision}"
                   + (f" (deployment {found.deployment}, env {found.env})" if found.deployment else ""))
    command = dep.rollback_command(release, revision, helm_args)
    click.echo("running: " + shlex.join(["helm", *command]))
    try:
        code = run_live(*command)
    except HelmError as exc:
        _fail(str(exc), 1)
    if code != 0:
        _fail(f"helm rollback failed (exit code {code})", code)


@cli.command(cls=_HelmOptions, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("release")
@click.argument("helm_args", nargs=-1, type=click.UNPROCESSED)
def history(release: str, helm_args: tuple[str, ...]) -> None:
    """The release's revisions: chart and app version, status, environment and deployment id."""
    from helmgen import deploy as dep

    if any(a == "--output" or a.startswith("--output=") or (a.startswith("-o") and not a.startswith("--"))
           for a in helm_args):  # helmgen reads Helm's JSON: another format would not parse
        raise click.UsageError("-o/--output: helmgen history prints its own table (helm history -o json "
                               "gives Helm's JSON)")
    click.echo(dep.history_table(_history_or_exit(release, _plugin_namespace(helm_args))), nl=False)


@cli.command()
@click.argument("spec", type=click.Path())
def validate(spec: str) -> None:
    """Check SPEC; print every problem (exit 2) or nothing bad (exit 0)."""
    model = _load(spec, writes=False)
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
        _fail(f"{path} already exists (use --force to overwrite it)", EXIT_BAD_INPUT)
    path.write_text(starter_spec(name))
    click.echo(f"wrote {path}; next: helmgen generate {path}")


def main() -> None:
    try:
        cli.main(prog_name="helmgen", standalone_mode=True)  # its invoke() reports a HelmgenError
    except KeyboardInterrupt:
        click.echo("helmgen: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit:
        raise
    except Exception as exc:  # an unexpected failure: one line, exit 1, no credentials
        from helmgen.publish import redact

        target = next((a for a in sys.argv if a.startswith("oci://")), "")
        message = " ".join(redact(str(exc), target).split())
        click.echo(f"helmgen: error: {type(exc).__name__}: {message}", err=True)
        sys.exit(EXIT_FAILURE)
