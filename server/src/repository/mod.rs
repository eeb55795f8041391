//! The model repository (COMPAT §1.1, §1.4, §1.5): which models a directory holds
//! ([`discovery`]), MLServer's settings files and environment ([`settings`]), and the registry
//! of models with their states that serves requests and the `/v2/repository/*` API
//! ([`registry`]).

pub mod access;
pub mod discovery;
pub mod registry;
pub mod settings;

pub use access::{AccessError, RepositoryAccess};
pub use discovery::{discover, is_single_model, ModelSpec};
pub use registry::{IndexEntry, LoadOptions, ModelState, Registry, Source};
pub use settings::{ModelSettingsFile, NetworkSettings, ServerSettings, SettingsError};
