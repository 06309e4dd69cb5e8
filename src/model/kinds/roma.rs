//! ROMA Connect's kinds (hoist layout), as the platform's documentation gives them
//! (platform-docs/roma-docs-contents-and-service-integration.txt: the guide's and API
//! reference's resources, and "Using ROMA Connect for Service Integration"; platform-docs/
//! roma-importing-and-exporting-assets.txt: what an asset import carries).
//!
//! Field names follow the platform's API. Ownership: an API group selects its integration
//! application, an API its group, and a backend its application ("Integration Application:
//! Select the integration application", Table 1 and Table 3 of the service integration
//! guide); data sources, tasks, MQS topics and device products belong to an application too.
//!
//! Instance data: the asset import carries integration assets only, "excluding asset-related
//! instance configuration data", which is configured after import (Prerequisites of the
//! import page): environments and their variables, app secrets, data-source connections,
//! domain names and certificates. Those kinds carry a step for the after-import checklist.

use super::{KindRules, RefDecl, kind, owned_by, r};

/// A data integration task's references, composite or not: its app, and the data sources
/// it reads and writes.
const TASK_REFS: &[RefDecl] = refs![
    owned_by("/app", "app"),
    r("/source/datasource", "data_source"),
    r("/target/datasource", "data_source"),
];

/// Every ROMA kind, sorted by name.
pub const KINDS: &[KindRules] = &[
    kind(
        "roma",
        "api",
        "an API of an API group, published to environments (`/environments`)",
        refs![
            owned_by("/group", "api_group"),
            r("/authorizer", "authorizer"),
            r("/backend", "backend"),
            r("/backend_authorizer", "authorizer"),
            r("/environments/*", "environment"),
            r("/plugins/*", "plugin"),
        ],
        Some("/name"),
    )
    // Request throttling policies, access control policies and signature keys of APIs
    // cannot be imported or exported (Prerequisites of the import page).
    .unportable(&["/throttling", "/acl", "/signature_keys"]),
    kind(
        "roma",
        "api_group",
        "a group of APIs, owned by an app",
        refs![owned_by("/app", "app")],
        Some("/name"),
    ),
    kind(
        "roma",
        "api_version",
        "a published version of an API (its definition when it was published)",
        refs![owned_by("/api", "api"), r("/environment", "environment")],
        Some("/name"),
    ),
    kind(
        "roma",
        "app",
        "an integration application",
        refs![],
        Some("/name"),
    )
    .after_import("set or reset the key and secret of integration app {name} (app secrets are instance data)"),
    kind(
        "roma",
        "authorizer",
        "a custom authorizer (names are unique per instance)",
        refs![],
        Some("/name"),
    ),
    kind(
        "roma",
        "backend",
        "a custom backend (function, data or HTTP), owned by an app",
        refs![
            owned_by("/app", "app"),
            r("/vpc_channel", "vpc_channel"),
            r("/authorizer", "authorizer"),
        ],
        Some("/name"),
    ),
    kind(
        "roma",
        "certificate",
        "an SSL certificate for API group domain names",
        refs![],
        Some("/name"),
    )
    .after_import("upload SSL certificate {name} with its private key on the instance (certificates are instance data)"),
    kind(
        "roma",
        "client_app",
        "a client app (APP authentication) and the APIs it is authorized to call",
        refs![
            r("/authorizations/*/api", "api"),
            r("/authorizations/*/environment", "environment"),
        ],
        Some("/name"),
    )
    .after_import("set or reset the key and secret of client app {name} and give them to its callers (app secrets are instance data)"),
    kind(
        "roma",
        "composite_task",
        "a composite data integration task, owned by an app",
        TASK_REFS,
        Some("/name"),
    ),
    kind(
        "roma",
        "data_source",
        "a data source of data integration, owned by an app",
        refs![owned_by("/app", "app")],
        Some("/name"),
    )
    .after_import("check the connection of data source {name} (address, account and password are instance data)"),
    kind(
        "roma",
        "device",
        "a device of a device-integration product",
        refs![owned_by("/product", "product")],
        Some("/name"),
    ),
    kind(
        "roma",
        "device_rule",
        "a rule-engine rule that forwards device data, owned by an app",
        refs![
            owned_by("/app", "app"),
            r("/product", "product"),
            r("/destinations/*/topic", "mqs_topic"),
        ],
        Some("/name"),
    ),
    kind(
        "roma",
        "domain",
        "a domain name bound to an API group",
        refs![
            owned_by("/group", "api_group"),
            r("/certificate", "certificate"),
        ],
        Some("/name"),
    )
    .after_import("bind domain name {name} to its API group and resolve it to the instance (domain names are instance data)"),
    kind(
        "roma",
        "env_variable",
        "an environment variable of an API group",
        refs![
            r("/environment", "environment"),
            owned_by("/group", "api_group"),
        ],
        Some("/name"),
    )
    .after_import("check the value of environment variable {name} in its environment (environment variables are instance data)"),
    kind(
        "roma",
        "environment",
        "an API publishing environment (RELEASE is always there)",
        refs![],
        Some("/name"),
    )
    .after_import("create environment {name} on the instance if it is not there (environments are instance data)"),
    kind(
        "roma",
        "function",
        "a FunctionGraph function that function backends call, with its versions and aliases (`meta: {urn, versions, aliases}`)",
        refs![],
        None,
    ),
    kind(
        "roma",
        "mqs_topic",
        "a topic of message integration (MQS), owned by an app",
        refs![owned_by("/app", "app")],
        Some("/name"),
    ),
    kind(
        "roma",
        "plugin",
        "an API plug-in (CORS, HTTP response headers, …) that APIs bind (`/plugins`)",
        refs![],
        Some("/name"),
    ),
    kind(
        "roma",
        "product",
        "a device-integration product, owned by an app",
        refs![owned_by("/app", "app")],
        Some("/name"),
    ),
    kind(
        "roma",
        "task",
        "a data integration task, owned by an app",
        TASK_REFS,
        Some("/name"),
    ),
    kind(
        "roma",
        "vpc_channel",
        "a VPC channel (load balance channel) that backends send requests through",
        refs![],
        Some("/name"),
    ),
];

/// Names the instance always has, whatever a package or snapshot holds: the `RELEASE`
/// environment every API can be published to ("Step 5: Publish the API").
pub const ALWAYS_THERE: &[(&str, &str)] = &[("environment", "RELEASE")];
