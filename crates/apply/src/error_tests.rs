//! Tests of the error model: Docker's answers (captured from the engine of this machine, Docker
//! 20.10, API 1.41, with `curl --unix-socket`) classify into the kinds the executor acts on, and
//! every kind of `ApplyError` has its own registered code.

use super::*;

fn classify(status: u16, message: &str) -> DockerErrorKind {
    DockerError::new(Some(status), message).kind
}

#[test]
fn captured_answers_classify_into_kinds() {
    use DockerErrorKind::*;
    let cases: [(u16, &str, DockerErrorKind); 10] = [
        (409, "rpc error: code = AlreadyExists desc = config berthexec-cap already exists", Conflict),
        (409, "rpc error: code = AlreadyExists desc = secret berthexec-s already exists", Conflict),
        (409, "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service berthexec-svc already exists", Conflict),
        (409, "network with name berthexec-net already exists", Conflict),
        (409, "remove berthexec-cap2: volume is in use - [b2a2a2c044e7a84a8af2d37e09ba01362c5d815997ab1a0736f77a9beb163907]", InUse),
        (400, "rpc error: code = FailedPrecondition desc = network xy88tmpxm9rildqns28lt84pd is in use by service m62girbznt4vpddeyipuicdsk", InUse),
        (500, "rpc error: code = Unknown desc = update out of sequence", OutOfSequence),
        (404, "config berthexec-cap not found", NotFound),
        (404, "get berthexec-cap2: no such volume", NotFound),
        (404, "network berthexec-net not found", NotFound),
    ];
    for (status, message, kind) in cases {
        assert_eq!(classify(status, message), kind, "{status} {message}");
    }
    assert_eq!(
        classify(500, "rpc error: code = Unknown desc = boom"),
        Other
    );
}

#[test]
fn an_error_without_an_answer_is_never_acted_on() {
    // A transport failure that happens to mention "not found" is not a 404.
    let e = DockerError::other("connect: socket not found");
    assert_eq!((e.status, e.kind), (None, DockerErrorKind::Other));
    let e = DockerError::from(bollard::errors::Error::DockerResponseServerError {
        status_code: 404,
        message: "service x not found".into(),
    });
    assert_eq!((e.status, e.kind), (Some(404), DockerErrorKind::NotFound));
    assert_eq!(e.to_string(), "service x not found (HTTP 404)");
}

#[test]
fn raw_answers_keep_their_status() {
    let raw = crate::raw::RawError {
        path: "/v1.41/services/x".into(),
        status: Some(404),
        message: "service x not found".into(),
    };
    let e = DockerError::from_raw(&raw);
    assert_eq!(e.status, Some(404));
    assert_eq!(e.kind, DockerErrorKind::NotFound);
    assert_eq!(e.message, "service x not found");
    let timeout = crate::raw::RawError {
        path: "/v1.41/services/x".into(),
        status: None,
        message: "timed out".into(),
    };
    assert_eq!(DockerError::from_raw(&timeout).status, None);
}

/// One error of every kind.
fn one_of_each() -> Vec<ApplyError> {
    let address: Address = "shop/production/service.web".parse().unwrap();
    let deployment = address.deployment.clone();
    let boxed = || Box::new(address.clone());
    let boxed_deployment = || Box::new(address.deployment.clone());
    let observed = berth_planner::ObservedError {
        endpoint: "services",
        source: serde_json::from_str::<u8>("x").unwrap_err(),
    };
    vec![
        ApplyError::Unreachable {
            endpoint: "unix:///x".into(),
            message: "m".into(),
            hint: "h".into(),
        },
        ApplyError::SwarmInactive {
            endpoint: "e".into(),
        },
        ApplyError::EngineTooOld {
            version: "1.40".into(),
        },
        ApplyError::engine("create", &address, DockerError::other("m")),
        ApplyError::Observe(observed),
        ApplyError::Locked {
            deployment: Box::new(deployment.clone()),
            id: "i".into(),
            holder: "h".into(),
            since: "s".into(),
            stale: false,
        },
        ApplyError::NoSuchLock {
            id: "i".into(),
            dir: "d".into(),
        },
        ApplyError::State {
            path: "p".into(),
            message: "m".into(),
        },
        ApplyError::Io {
            path: "p".into(),
            source: std::io::Error::other("x"),
        },
        ApplyError::SecretSource {
            deployment,
            name: "n".into(),
            message: "m".into(),
        },
        ApplyError::NotConverged {
            address: boxed(),
            message: "m".into(),
            task_errors: vec![],
        },
        ApplyError::RolledBack {
            address: boxed(),
            message: "m".into(),
            task_errors: vec![],
        },
        ApplyError::CanaryUnhealthy {
            address: boxed(),
            stable: "web".into(),
            message: "m".into(),
            task_errors: vec![],
        },
        ApplyError::JobFailed {
            address: boxed(),
            message: "m".into(),
            timed_out: false,
            task: "t".into(),
            logs: vec![],
        },
        ApplyError::JobFailed {
            address: boxed(),
            message: "m".into(),
            timed_out: true,
            task: "t".into(),
            logs: vec![],
        },
        ApplyError::Stale(berth_planner::Stale::Serial {
            planned: 1,
            current: 2,
        }),
        ApplyError::PayloadChanged { address: boxed() },
        ApplyError::Interrupted {
            done: 1,
            skipped: 2,
        },
        ApplyError::Failed {
            failed: 0,
            errors: vec![],
        },
        ApplyError::internal(&address, "m"),
        ApplyError::ChangedSincePlan {
            address: boxed(),
            doing: "update",
        },
        ApplyError::NetworkNameTaken {
            address: boxed(),
            name: "n".into(),
        },
        ApplyError::EdgeSlotsExhausted { address: boxed() },
        ApplyError::MissingReference {
            address: boxed(),
            kind: "network",
            name: "n".into(),
        },
        ApplyError::LockLost {
            deployment: boxed_deployment(),
            message: "m".into(),
        },
        ApplyError::ClusterState {
            deployment: boxed_deployment(),
            message: "m".into(),
        },
        ApplyError::LocalStateNotMoved {
            dir: "x/.berth/state".into(),
            deployments: "shop/production".into(),
        },
        ApplyError::RollbackSecretChanged {
            deployment: boxed_deployment(),
            serial: 1,
            address: boxed(),
        },
        ApplyError::NoSuchSerial {
            deployment: boxed_deployment(),
            serial: 1,
        },
        ApplyError::StateRefused("m".into()),
    ]
}

/// The codes of apply's errors are exactly the registered E03xx codes, one per kind (the two
/// kinds of stale saved plan share one), and `berth explain` has a text for each.
#[test]
fn every_apply_code_is_produced_and_explained() {
    let produced: Vec<Code> = one_of_each().iter().map(ApplyError::code).collect();
    let mut unique = produced.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), produced.len() - 1, "one code per kind");
    let registered: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| c.as_str().starts_with("E03"))
        .collect();
    let mut sorted_registered = registered.clone();
    sorted_registered.sort();
    assert_eq!(unique, sorted_registered);
    for code in registered {
        assert!(code.explanation().len() > 40, "{code}");
        assert_eq!(Code::parse(code.as_str()), Some(code));
    }
}

#[test]
fn an_internal_error_is_not_a_refusal_of_docker() {
    let e = ApplyError::internal("shop/production/service.web", "a step panicked");
    assert!(!e.to_string().contains("Docker refused"), "{e}");
    assert_eq!(e.docker_kind(), None);
    assert_eq!(e.code().as_str(), "E0315");
}
