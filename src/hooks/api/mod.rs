//! What scripts get from the host, one module per area: `ctx` ([`ctx`]) and the asset and
//! what a hook returns ([`asset`]). The sandbox's own globals (`pairs`, `tostring`, `print`,
//! `require`, …) are built in `sandbox`. `hoist.d.lua` annotates all of it for editors, and a
//! test keeps the annotations equal to what is registered.

pub(crate) mod asset;
pub(crate) mod ctx;
