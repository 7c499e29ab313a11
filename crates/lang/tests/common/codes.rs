//! The codes no fixture of `tests/fixtures` can produce, and which other tests produce instead:
//! the lists `diagnostics.rs`'s `every_code_is_exercised` counts as covered. Other crates' tests
//! read this file to keep their lists equal to these.

use berth_lang::Code;

/// Codes only the binary produces, from what it finds on disk (`tests/e2e/cli.rs` and
/// `tests/e2e/truth.rs` exercise them, `src/cli/load.rs`'s tests snapshot them).
pub const FROM_THE_FILE_SYSTEM: [Code; 1] = [Code::SourceNotFound];

/// Codes berth no longer produces, kept registered so that `berth explain` still says what they
/// meant (each one's explanation names the code that replaced it).
pub const RETIRED: [Code; 1] = [Code::RetiredSourceWarning];

/// Codes the special tests of `diagnostics.rs` produce (no fixture file can produce the first three).
pub const SPECIAL_CODES: [Code; 4] = [
    Code::EmptyConfig,
    Code::InvalidUtf8,
    Code::FileTooLarge,
    Code::TooDeep,
];

/// Codes only the planner produces: the tenant boundary checked against what the cluster runs,
/// which no configuration alone can break. No fixture here can produce them;
/// `crates/planner/tests/boundary.rs` (`every_planner_only_code_is_exercised`) produces each
/// one from observed state captured from the real engine, and keeps its list equal to this one.
pub const PLANNER_ONLY_CODES: [Code; 5] = [
    Code::StackOfRunningProject,
    Code::HostOfRunningProject,
    Code::LooksLikeRunningEnvironment,
    Code::LooksLikeRunningServiceHost,
    Code::TooManyPreviews,
];

/// Planning errors no configuration alone produces; `crates/planner/tests/` produces each
/// (`errors.rs`, `plans.rs`, `edge.rs` for the edge slots, `model.rs` for a missing digest).
pub const PLANNING_CODES: [Code; 8] = [
    Code::StackCollision,
    Code::EdgeSlotsExhausted,
    Code::EdgeNetworkMissing,
    Code::EdgeSlotStillClaimed,
    Code::TaskTooLarge,
    Code::ClusterFull,
    Code::DataLoss,
    Code::MissingDigest,
];

/// Codes only the `berth` binary produces, when it refuses an apply or a destroy for the actor
/// it was given (`berth_lang::access::authorize`): no configuration alone can produce them.
/// The end-to-end tests of the binary exercise them (`tests/e2e/cli.rs`), and the unit tests
/// of `berth_lang::access` check what each one says.
pub const PRODUCED_BY_THE_BINARY: [Code; 11] = [
    Code::ActorRequired,
    Code::NotAnOwnerOrAdmin,
    Code::NotAPlatformAdmin,
    // Its command line and the paths it is given (`tests/e2e/cli.rs`).
    Code::Usage,
    Code::Unreadable,
    // A saved plan applied from elsewhere whose configuration is missing (`tests/e2e/everyday.rs`).
    Code::PlanConfigNotFound,
    // `berth init` into a directory that holds a configuration (`tests/e2e/everyday.rs`).
    Code::InitWouldOverwrite,
    // `berth validate` of a directory with a compose file, and `berth import compose`
    // (`tests/e2e/import.rs`).
    Code::ComposeDirectory,
    Code::ImportOutputExists,
    Code::ImportRefused,
    // A drift check or status that would check nothing (`tests/e2e/truth.rs`).
    Code::NothingApplied,
];

/// Codes only `crates/apply` produces (`ApplyError::code`), when berth talks to the Docker
/// Engine or keeps its state: no configuration alone can produce them.
/// `crates/apply/src/error_tests.rs` (`every_apply_code_is_produced_and_explained`) produces
/// each one and checks that they are exactly the registered `E03xx` codes.
pub const APPLY_ONLY_CODES: [Code; 29] = [
    Code::EngineUnreachable,
    Code::SwarmInactive,
    Code::EngineTooOld,
    Code::DockerRefused,
    Code::UnreadableAnswer,
    Code::StateLocked,
    Code::NoSuchLock,
    Code::BadStateFile,
    Code::FileUnreadable,
    Code::SecretUnreadable,
    Code::NotConverged,
    Code::RolledBack,
    Code::StalePlan,
    Code::ApplyInterrupted,
    Code::ChangesFailed,
    Code::InternalError,
    Code::ChangedSincePlan,
    Code::NetworkNameTaken,
    Code::EdgeSlotsTakenDuringApply,
    Code::MissingReference,
    Code::LockLost,
    Code::ClusterStateUnreadable,
    Code::LocalStateNotMoved,
    Code::RollbackSecretChanged,
    Code::NoSuchSerial,
    Code::StateCommandRefused,
    Code::JobFailed,
    Code::JobTimedOut,
    Code::CanaryUnhealthy,
];

/// Codes only `berth import compose` and `berth export compose` produce (`crates/compose`),
/// about compose files and stack files, which no berth configuration alone can produce.
/// `crates/compose/tests/codes.rs` produces each one and keeps its list equal to this one.
pub const IMPORT_EXPORT_CODES: [Code; 17] = [
    Code::ComposeUnreadable,
    Code::ComposeShape,
    Code::ComposeInterpolation,
    Code::ComposeNoEquivalent,
    Code::ComposeBindMount,
    Code::ComposeBuildOnly,
    Code::ComposeExtends,
    Code::ComposeName,
    Code::ComposeUnknownKey,
    Code::ComposeFileOutside,
    Code::ComposeUnsupportedValue,
    Code::ComposeChanged,
    Code::ComposeTraefikLabel,
    Code::ComposeDropped,
    Code::ComposeFixedValue,
    Code::ComposeProfile,
    Code::ExportChanged,
];
