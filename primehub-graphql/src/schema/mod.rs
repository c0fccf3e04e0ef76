//! PrimeHub's GraphQL schema: queries and mutations for the system settings, users, groups,
//! instance types, images, datasets, secrets, jobs and schedules, with PrimeHub's names.

use std::sync::Arc;

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
    job::PhJobQuery,
    schedule::PhScheduleQuery,
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
    job::PhJobMutation,
    schedule::PhScheduleMutation,
);

/// The schema type.
pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over `state`.
pub fn build(state: Arc<ApiState>, metrics: Arc<ApiMetrics>) -> ApiSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(state)
        .data(metrics)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// Parsed query documents by query text, so a client that repeats a query (the console or a
/// hub polling `me`) skips the parser, about a tenth of a small query's cost. It holds at most
/// [`ParsedQueries::CAPACITY`] documents of queries of at most
/// [`ParsedQueries::MAX_QUERY_BYTES`]; when full it starts over. Only parsing is skipped: every
/// request is still validated (depth, complexity, fields, variables) and executed.
#[derive(Debug, Default)]
pub struct ParsedQueries {
    docs: std::sync::RwLock<
        std::collections::HashMap<
            String,
            async_graphql::parser::types::ExecutableDocument,
            foldhash::fast::RandomState,
        >,
    >,
}

impl ParsedQueries {
    /// The most documents kept.
    pub const CAPACITY: usize = 256;
    /// Longer queries are parsed every time.
    pub const MAX_QUERY_BYTES: usize = 16 * 1024;

    /// Gives `request` its parsed document: the kept one, or parsed now and kept. A query that
    /// does not parse is left to the executor, which reports the syntax error.
    pub fn prepare(&self, request: &mut async_graphql::Request) {
        if request.query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        let kept = self
            .docs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(request.query.as_str())
            .cloned();
        if let Some(doc) = kept {
            request.set_parsed_query(doc);
            return;
        }
        let Ok(doc) = request.parsed_query().cloned() else {
            return;
        };
        let mut docs = self
            .docs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if docs.len() >= Self::CAPACITY {
            docs.clear();
        }
        docs.insert(request.query.clone(), doc);
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.docs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Executes `request` for `caller` against one consistent snapshot of the Keycloak cache,
/// with its parsed document from `parsed` when the query was seen before.
pub async fn execute(
    schema: &ApiSchema,
    state: &ApiState,
    parsed: &ParsedQueries,
    caller: Arc<Caller>,
    mut request: async_graphql::Request,
) -> async_graphql::Response {
    parsed.prepare(&mut request);
    let snapshot = state.keycloak.snapshot();
    let mut response = schema.execute(request.data(caller).data(snapshot)).await;
    // Done here rather than in an async-graphql extension: any extension makes every field
    // resolution go through boxed extension futures and type-name formatting, which cost
    // about a third of a warm `me` query.
    for error in &mut response.errors {
        crate::error::format_server_error(error);
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
pub mod job;
pub mod leaf;
pub mod schedule;
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
