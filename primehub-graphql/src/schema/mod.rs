//! PrimeHub's GraphQL schema: queries and mutations for the system settings, users, groups,
//! instance types, images, datasets and secrets, with PrimeHub's names.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::auth::Caller;
use crate::metrics::ApiMetrics;
use crate::state::ApiState;

/// The deepest query accepted (PrimeHub's deepest real query, JupyterHub's, is 5 levels).
pub const MAX_DEPTH: usize = 12;
/// The most complex query accepted (fields counted once each; lists do not multiply).
pub const MAX_COMPLEXITY: usize = 2_000;

/// The queries.
#[derive(MergedObject, Default)]
pub struct Query(
    system::SystemQuery,
    user::UserQuery,
    group::GroupQuery,
    instance_type::InstanceTypeQuery,
    image::ImageQuery,
    dataset::DatasetQuery,
    secret::SecretQuery,
);

/// The mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(
    system::SystemMutation,
    user::UserMutation,
    group::GroupMutation,
    instance_type::InstanceTypeMutation,
    image::ImageMutation,
    dataset::DatasetMutation,
    secret::SecretMutation,
);

/// The schema type.
pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Gives resolver errors PrimeHub's shape (see [`crate::error::format_server_error`]).
struct ErrorFormat;

impl ExtensionFactory for ErrorFormat {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorFormatExtension)
    }
}

struct ErrorFormatExtension;

#[async_trait::async_trait]
impl Extension for ErrorFormatExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        let mut response = next.run(ctx, operation_name).await;
        for error in &mut response.errors {
            crate::error::format_server_error(error);
        }
        response
    }
}

/// Builds the schema over `state`.
pub fn build(state: Arc<ApiState>, metrics: Arc<ApiMetrics>) -> ApiSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(state)
        .data(metrics)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(ErrorFormat)
        .finish()
}

/// Executes `request` for `caller` against one consistent snapshot of the Keycloak cache.
pub async fn execute(
    schema: &ApiSchema,
    state: &ApiState,
    caller: Arc<Caller>,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let snapshot = state.keycloak.snapshot();
    let mut response = schema.execute(request.data(caller).data(snapshot)).await;
    for error in &mut response.errors {
        name_the_limit(error);
    }
    response
}

/// async-graphql's validation says "Query is nested too deep." / "Query is too complex." without
/// the limit: the message gets the limit, so a client knows what to change.
fn name_the_limit(error: &mut async_graphql::ServerError) {
    let limit = match error.message.as_str() {
        "Query is nested too deep." => format!("the depth limit is {MAX_DEPTH} levels"),
        "Query is too complex." => format!("the complexity limit is {MAX_COMPLEXITY} fields"),
        _ => return,
    };
    error.message = format!("{}: {limit}", error.message.trim_end_matches('.'));
}

pub mod common;
pub mod dataset;
pub mod group;
pub mod image;
pub mod instance_type;
pub mod secret;
pub mod system;
pub mod user;

use primehub_keycloak::cache::Snapshot;

/// The shared state, from the schema's data.
pub(crate) fn state<'a>(ctx: &async_graphql::Context<'a>) -> &'a Arc<ApiState> {
    ctx.data_unchecked::<Arc<ApiState>>()
}

/// The request's snapshot of the Keycloak cache (taken when the request started).
pub(crate) fn snapshot(ctx: &async_graphql::Context<'_>) -> Arc<Snapshot> {
    match ctx.data_opt::<Arc<Snapshot>>() {
        Some(snapshot) => snapshot.clone(),
        None => state(ctx).keycloak.snapshot(),
    }
}
