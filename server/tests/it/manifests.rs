//! The KServe manifests in `examples/kserve` and the root `Dockerfile`: every manifest field is one
//! of the KServe / core/v1 fields listed in `examples/kserve/schema/kserve-crd-fields.yaml` with
//! the right type, and each serving container's args, env, ports and probes agree with
//! `ironflow serve` (parsed with the real clap [`Cli`]) and with the routes the server answers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use ironflow_server::config::{Cli, Command, ServeArgs};
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::harness::{example, TestServer};

/// `examples/kserve/schema/kserve-crd-fields.yaml`.
#[derive(Debug, Deserialize)]
struct Schema {
    container: BTreeMap<String, String>,
    kinds: BTreeMap<String, KindSchema>,
    values: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct KindSchema {
    container_paths: Vec<String>,
    required: Vec<String>,
    fields: BTreeMap<String, String>,
}

impl KindSchema {
    /// The declared type of a field path, looking inside containers too.
    fn type_of<'a>(&'a self, schema: &'a Schema, path: &str) -> Option<&'a str> {
        if let Some(t) = self.fields.get(path) {
            return Some(t);
        }
        self.container_paths.iter().find_map(|cp| {
            if path == cp {
                Some("object")
            } else {
                path.strip_prefix(cp.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|rest| schema.container.get(rest).map(String::as_str))
            }
        })
    }
}

/// One YAML document of one manifest file.
struct Manifest {
    file: String,
    doc: Value,
}

impl Manifest {
    fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or("")
    }
}

fn kserve_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kserve")
}

fn load_schema() -> Schema {
    let path = kserve_dir().join("schema/kserve-crd-fields.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of every `examples/kserve/*.yaml`.
fn load_manifests() -> Vec<Manifest> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(kserve_dir())
        .expect("examples/kserve")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = vec![];
    for path in files {
        let file = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        for de in serde_yaml_ng::Deserializer::from_str(&text) {
            let doc = Value::deserialize(de).unwrap_or_else(|e| panic!("{file}: {e}"));
            if !doc.is_null() {
                out.push(Manifest {
                    file: file.clone(),
                    doc,
                });
            }
        }
    }
    assert!(
        out.len() >= 4,
        "expected the example manifests, found {}",
        out.len()
    );
    out
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.as_i64().is_some(),
        "boolean" => v.is_bool(),
        "object" => v.is_mapping(),
        "array" => v.is_sequence(),
        "map" => v
            .as_mapping()
            .is_some_and(|m| m.iter().all(|(k, v)| k.is_string() && v.is_string())),
        "quantity" | "int-or-string" => v.is_string() || v.as_i64().is_some(),
        _ => false,
    }
}

/// Checks `v` at `path` and everything under it; pushes one message per bad field.
fn check_fields(
    schema: &Schema,
    kind: &KindSchema,
    path: &str,
    v: &Value,
    errors: &mut Vec<String>,
) {
    if !path.is_empty() {
        let Some(ty) = kind.type_of(schema, path) else {
            errors.push(format!("{path}: not a field of the schema"));
            return;
        };
        if !type_matches(ty, v) {
            errors.push(format!("{path}: expected {ty}, got {v:?}"));
            return;
        }
        if ty != "object" && ty != "array" {
            return;
        }
    }
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let Some(k) = k.as_str() else {
                    errors.push(format!("{path}: non-string key {k:?}"));
                    continue;
                };
                let p = if path.is_empty() {
                    k.to_owned()
                } else {
                    format!("{path}.{k}")
                };
                check_fields(schema, kind, &p, child, errors);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                check_fields(schema, kind, &format!("{path}[]"), item, errors);
            }
        }
        _ => {}
    }
}

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .map(|x| x.as_str().expect("a string item").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn manifests_use_only_kserve_crd_fields() {
    let schema = load_schema();
    let mut errors = vec![];
    for m in load_manifests() {
        let key = format!(
            "{}/{}",
            m.doc["apiVersion"].as_str().unwrap_or("?"),
            m.kind()
        );
        let Some(kind) = schema.kinds.get(&key) else {
            errors.push(format!("{}: {key} is not a kind of the schema", m.file));
            continue;
        };
        let mut errs = vec![];
        check_fields(&schema, kind, "", &m.doc, &mut errs);
        for r in &kind.required {
            if get(&m.doc, r).is_none() {
                errs.push(format!("{r}: required"));
            }
        }
        let versions = &schema.values["protocolVersions"];
        let protocols = str_list(get(&m.doc, "spec.protocolVersions"))
            .into_iter()
            .chain(
                get(&m.doc, "spec.predictor.model.protocolVersion")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            );
        for p in protocols {
            if !versions.contains(&p) {
                errs.push(format!("protocol version {p:?} is not one of {versions:?}"));
            }
        }
        errors.extend(
            errs.into_iter()
                .map(|e| format!("{} {} {}: {e}", m.file, m.kind(), m.name())),
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The env var each `serve` argument reads, by argument id.
fn cli_env() -> BTreeMap<String, clap::Arg> {
    let cmd = Cli::command();
    let serve = cmd.find_subcommand("serve").expect("serve subcommand");
    serve
        .get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_str()?.to_owned();
            Some((env, a.clone()))
        })
        .collect()
}

/// The container as the pod would run it: env by name, args, ports by name.
struct Container {
    args: Vec<String>,
    env: BTreeMap<String, String>,
    env_names: Vec<String>,
    ports: BTreeMap<String, i64>,
    probe_ports: Vec<i64>,
    probe_paths: Vec<String>,
}

fn container_of(v: &Value) -> Container {
    let mut env = BTreeMap::new();
    let mut env_names = vec![];
    for e in v["env"].as_sequence().into_iter().flatten() {
        let name = e["name"].as_str().expect("env name").to_owned();
        if let Some(value) = e["value"].as_str() {
            env.insert(name.clone(), value.to_owned());
        }
        env_names.push(name);
    }
    let mut ports = BTreeMap::new();
    for p in v["ports"].as_sequence().into_iter().flatten() {
        ports.insert(
            p["name"].as_str().unwrap_or("").to_owned(),
            p["containerPort"].as_i64().expect("containerPort"),
        );
    }
    let (mut probe_ports, mut probe_paths) = (vec![], vec![]);
    for probe in ["readinessProbe", "livenessProbe"] {
        if let Some(h) = v.get(probe).and_then(|p| p.get("httpGet")) {
            probe_ports.push(h["port"].as_i64().expect("probe port by number"));
            probe_paths.push(h["path"].as_str().expect("probe path").to_owned());
        }
    }
    Container {
        args: str_list(v.get("args")),
        env,
        env_names,
        ports,
        probe_ports,
        probe_paths,
    }
}

/// Parses the container's command line as `ironflow` would, with its `MLSERVER_*` env applied
/// as the flags they stand for (so the test does not depend on the test process's env).
fn parse_serve(c: &Container, model_name: &str) -> Result<ServeArgs, String> {
    let by_env = cli_env();
    let mut argv: Vec<String> = std::iter::once("ironflow".to_owned())
        .chain(c.args.iter().map(|a| a.replace("{{.Name}}", model_name)))
        .collect();
    let mut positional = None;
    for (name, value) in &c.env {
        let Some(arg) = by_env.get(name) else {
            continue;
        };
        match arg.get_long() {
            Some(long) => {
                let flag = format!("--{long}");
                if !argv
                    .iter()
                    .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
                {
                    argv.push(format!("{flag}={value}"));
                }
            }
            None => positional = Some(value.clone()),
        }
    }
    let parsed = Cli::try_parse_from(&argv).or_else(|first| match &positional {
        Some(p) => Cli::try_parse_from(argv.iter().chain([p])).map_err(|e| e.to_string()),
        None => Err(first.to_string()),
    })?;
    serve_args(parsed.command)
}

/// The `serve` arguments of a parsed command line.
fn serve_args(command: Command) -> Result<ServeArgs, String> {
    match command {
        Command::Serve(serve) => Ok(serve),
        #[allow(unreachable_patterns)] // for when ironflow grows other subcommands
        _ => Err("not `ironflow serve`".to_owned()),
    }
}

/// Checks one serving container against the CLI; returns its parsed `serve` arguments.
fn check_container(
    c: &Container,
    model_name: &str,
    protocols: &[String],
    errors: &mut Vec<String>,
) -> Option<ServeArgs> {
    let by_env = cli_env();
    for name in &c.env_names {
        if (name.starts_with("MLSERVER_") || name.starts_with("IRONFLOW_"))
            && !by_env.contains_key(name)
        {
            errors.push(format!("env {name}: not read by `ironflow serve`"));
        }
    }
    let serve = match parse_serve(c, model_name) {
        Ok(s) => s,
        Err(e) => {
            errors.push(format!("args {:?}: {e}", c.args));
            return None;
        }
    };
    if serve.name.as_deref() != Some(model_name) {
        errors.push(format!(
            "serves {:?}, KServe routes to {model_name:?}",
            serve.name
        ));
    }
    // KServe's defaults: REST on 8080, gRPC on 9000 (the MLServer runtime's MLSERVER_GRPC_PORT).
    if serve.http_port != 8080 {
        errors.push(format!(
            "http port {} is not KServe's 8080",
            serve.http_port
        ));
    }
    if protocols.iter().any(|p| p == "grpc-v2") && serve.grpc_port != 9000 {
        errors.push(format!(
            "grpc port {} is not KServe's 9000",
            serve.grpc_port
        ));
    }
    for (name, port) in &c.ports {
        let want = match name.as_str() {
            "h2c" => serve.grpc_port,
            _ => serve.http_port,
        };
        if *port != i64::from(want) {
            errors.push(format!(
                "container port {name}={port}, server listens on {want}"
            ));
        }
    }
    for port in &c.probe_ports {
        if *port != i64::from(serve.http_port) {
            errors.push(format!(
                "probe on port {port}, HTTP is on {}",
                serve.http_port
            ));
        }
    }
    for probe in ["/v2/health/ready", "/v2/health/live"] {
        if !c.probe_paths.iter().any(|p| p == probe) {
            errors.push(format!("no httpGet probe on {probe}"));
        }
    }
    Some(serve)
}

/// The value `ironflow serve` takes for the option read from `env`: the container's env, else the
/// default. `None` when the CLI has no such option.
fn effective(c: &Container, env: &str) -> Option<String> {
    let arg = cli_env().remove(env)?;
    c.env.get(env).cloned().or_else(|| {
        arg.get_default_values()
            .first()
            .map(|d| d.to_string_lossy().into_owned())
    })
}

#[test]
fn runtimes_and_inference_services_agree_with_the_cli() {
    let manifests = load_manifests();
    let runtimes: BTreeMap<&str, &Manifest> = manifests
        .iter()
        .filter(|m| m.kind().ends_with("ServingRuntime"))
        .map(|m| (m.name(), m))
        .collect();
    assert!(runtimes.contains_key("ironflow"), "no `ironflow` runtime");
    let mut errors = vec![];
    for rt in runtimes.values() {
        let mut errs = vec![];
        let spec = &rt.doc["spec"];
        let containers = spec["containers"].as_sequence().expect("containers");
        let Some(raw) = containers
            .iter()
            .find(|c| c["name"].as_str() == Some("kserve-container"))
        else {
            errors.push(format!("{}: no kserve-container", rt.file));
            continue;
        };
        if rt.doc["metadata"]["annotations"]["serving.kserve.io/server-type"].as_str()
            != Some("mlserver")
        {
            errs.push("no serving.kserve.io/server-type: mlserver annotation".to_owned());
        }
        let c = container_of(raw);
        let protocols = str_list(spec.get("protocolVersions"));
        check_container(&c, "example", &protocols, &mut errs);
        // Prometheus scrapes where the metrics listener really is (checked once the CLI has it).
        for (annotation, env) in [
            ("prometheus.kserve.io/port", "MLSERVER_METRICS_PORT"),
            ("prometheus.kserve.io/path", "MLSERVER_METRICS_ENDPOINT"),
        ] {
            let annotated = spec["annotations"][annotation].as_str();
            if let Some(value) = effective(&c, env) {
                if annotated != Some(value.as_str()) {
                    errs.push(format!("{annotation} {annotated:?}, server uses {value}"));
                }
            }
        }
        let sc = &raw["securityContext"];
        for (field, want) in [
            ("runAsNonRoot", true),
            ("allowPrivilegeEscalation", false),
            ("readOnlyRootFilesystem", true),
        ] {
            if sc[field].as_bool() != Some(want) {
                errs.push(format!("securityContext.{field} should be {want}"));
            }
        }
        if str_list(get(sc, "capabilities.drop")) != ["ALL"] {
            errs.push("securityContext.capabilities.drop should be [ALL]".to_owned());
        }
        errors.extend(
            errs.into_iter()
                .map(|e| format!("{} {}: {e}", rt.file, rt.name())),
        );
    }

    for isvc in manifests.iter().filter(|m| m.kind() == "InferenceService") {
        let mut errs = vec![];
        let model = &isvc.doc["spec"]["predictor"]["model"];
        let rt_name = model["runtime"].as_str().unwrap_or("ironflow");
        let Some(rt) = runtimes.get(rt_name) else {
            errors.push(format!(
                "{}: runtime {rt_name} is not in examples/kserve",
                isvc.file
            ));
            continue;
        };
        let spec = &rt.doc["spec"];
        // KServe's runtime selection: the format and version must be supported, and the
        // protocol listed.
        let (format, version) = (
            model["modelFormat"]["name"].as_str().unwrap_or(""),
            model["modelFormat"]["version"].as_str(),
        );
        let supported = spec["supportedModelFormats"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|f| {
                f["name"].as_str() == Some(format)
                    && version.is_none_or(|v| f["version"].as_str() == Some(v))
            });
        if !supported {
            errs.push(format!("{rt_name} does not support {format} {version:?}"));
        }
        let protocols = str_list(spec.get("protocolVersions"));
        let protocol = model["protocolVersion"].as_str().unwrap_or("v2").to_owned();
        if !protocols.contains(&protocol) {
            errs.push(format!("{rt_name} does not speak {protocol}"));
        }
        // The pod's container: the runtime's, with the InferenceService's args replacing its
        // args, its env and ports merged over, and the env KServe injects for mlserver runtimes.
        let raw = spec["containers"]
            .as_sequence()
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["name"].as_str() == Some("kserve-container"))
            })
            .expect("kserve-container");
        let mut c = container_of(raw);
        let own = container_of(model);
        if !own.args.is_empty() {
            c.args = own.args;
        }
        c.env.extend(own.env);
        for name in own.env_names {
            if !c.env_names.contains(&name) {
                c.env_names.push(name);
            }
        }
        c.ports.extend(own.ports);
        c.env
            .entry("MLSERVER_MODEL_NAME".to_owned())
            .or_insert_with(|| isvc.name().to_owned());
        if model.get("storageUri").is_some() {
            c.env
                .insert("MLSERVER_MODEL_URI".to_owned(), "/mnt/models".to_owned());
        }
        if let Some(serve) = check_container(&c, isvc.name(), &protocols, &mut errs) {
            let uri = serve.model_dir.to_string_lossy().into_owned();
            let direct = model.get("storageUri").is_none();
            if direct == (uri == "/mnt/models") {
                errs.push(format!(
                    "serves {uri}, but storageUri is {}",
                    if direct { "absent" } else { "set" }
                ));
            }
        }
        errors.extend(
            errs.into_iter()
                .map(|e| format!("{} {}: {e}", isvc.file, isvc.name())),
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[tokio::test]
async fn probe_paths_are_served_routes() {
    let mut paths = BTreeSet::new();
    for m in load_manifests() {
        let containers = m.doc["spec"]["containers"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .chain(m.doc["spec"]["predictor"].get("model").cloned());
        for c in containers {
            paths.extend(container_of(&c).probe_paths);
        }
    }
    assert!(paths.contains("/v2/health/ready"), "{paths:?}");
    let server = TestServer::start(&example("iris-logreg-onnx").join("model"), "iris").await;
    for path in &paths {
        let (status, body) = server.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

/// The Dockerfile's final stage: the default command is a valid `ironflow serve`, the listeners'
/// default ports are exposed, and it runs as distroless's numeric nonroot user.
#[test]
fn dockerfile_runtime_stage_matches_the_cli() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Dockerfile");
    let text = std::fs::read_to_string(&path).expect("Dockerfile");
    let last = text
        .rsplit_once("\nFROM ")
        .map(|(_, stage)| stage)
        .expect("a FROM line");
    let instr = |name: &str| -> Vec<&str> {
        last.lines()
            .filter_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .collect()
    };
    let exec_form = |name: &str| -> Vec<String> {
        let v = instr(name);
        assert_eq!(v.len(), 1, "one {name} in the runtime stage");
        serde_json::from_str(v[0]).unwrap_or_else(|e| panic!("{name} not in exec form: {e}"))
    };
    let argv: Vec<String> = exec_form("ENTRYPOINT ")
        .into_iter()
        .chain(exec_form("CMD "))
        .collect();
    assert_eq!(argv[0], "ironflow");
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let serve = serve_args(cli.command).expect("CMD runs `serve`");
    let exposed: Vec<u16> = instr("EXPOSE ")
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(|p| p.parse().expect("port"))
        .collect();
    for port in [serve.http_port, serve.grpc_port] {
        assert!(exposed.contains(&port), "{port} not in EXPOSE {exposed:?}");
    }
    if let Some(arg) = cli_env().remove("MLSERVER_METRICS_PORT") {
        let default = arg.get_default_values()[0].to_string_lossy().into_owned();
        assert!(
            exposed.contains(&default.parse().expect("port")),
            "metrics port {default} not exposed"
        );
    }
    assert_eq!(instr("USER "), ["65532:65532"]);
}

/// Issue 22: no InferenceService kserve-mlserver would serve is routed to ironflow unasked (a
/// custom pyfunc, or an estimator ironflow lacks, would then fail to load): every format of every
/// ironflow runtime has `autoSelect` off, every InferenceService using one names it in `runtime`,
/// and the runtimes speak KServe's v1 protocol and pass `{{.Labels.modelClass}}` on as
/// `MLSERVER_MODEL_IMPLEMENTATION` as kserve-mlserver does.
#[test]
fn ironflow_is_chosen_only_by_name() {
    let manifests = load_manifests();
    let mut errors = vec![];
    let runtimes: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| m.kind().ends_with("ServingRuntime"))
        .collect();
    for rt in &runtimes {
        for format in rt.doc["spec"]["supportedModelFormats"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            if format["autoSelect"].as_bool() != Some(false) {
                errors.push(format!(
                    "{} {}: format {:?} must set autoSelect: false",
                    rt.file,
                    rt.name(),
                    format["name"]
                ));
            }
            if format.get("priority").is_some() {
                errors.push(format!("{}: priority without autoSelect", rt.file));
            }
        }
    }
    let ironflow = runtimes
        .iter()
        .find(|r| r.name() == "ironflow")
        .expect("ironflow runtime");
    if !str_list(ironflow.doc["spec"].get("protocolVersions")).contains(&"v1".to_owned()) {
        errors.push("the ironflow runtime does not list v1".to_owned());
    }
    let env = ironflow.doc["spec"]["containers"][0]["env"]
        .as_sequence()
        .expect("env");
    let implementation = env
        .iter()
        .find(|e| e["name"].as_str() == Some("MLSERVER_MODEL_IMPLEMENTATION"));
    if implementation.and_then(|e| e["value"].as_str()) != Some("{{.Labels.modelClass}}") {
        errors.push("MLSERVER_MODEL_IMPLEMENTATION is not {{.Labels.modelClass}}".to_owned());
    }
    for isvc in manifests.iter().filter(|m| m.kind() == "InferenceService") {
        let runtime = isvc.doc["spec"]["predictor"]["model"]["runtime"].as_str();
        if !runtime.is_some_and(|r| runtimes.iter().any(|rt| rt.name() == r)) {
            errors.push(format!(
                "{} {}: names no ironflow runtime ({runtime:?})",
                isvc.file,
                isvc.name()
            ));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
