//! Types shared by several parts of the schema: the `JSON` scalar, relation inputs, edges and
//! connections, list arguments.

use async_graphql::SimpleObject;

use crate::list::PageArgs;

/// PrimeHub's `JSON` scalar (`graphql-type-json`).
pub type Json = async_graphql::Json<serde_json::Value>;

/// Defines an input object `{ id: ID! }` (PrimeHub's `XWhereUniqueInput`s).
macro_rules! where_unique {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(async_graphql::InputObject, Debug, Clone, serde::Serialize)]
        pub struct $name {
            /// The id: a Keycloak id for users and groups, the object name for resources.
            pub id: async_graphql::ID,
        }
    };
}
pub(crate) use where_unique;

/// Defines an input object `{ set: [String] }` (`ResetActionInput`, the group placeholders).
macro_rules! string_set {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(async_graphql::InputObject, Debug, Clone, Default, serde::Serialize)]
        pub struct $name {
            /// The values.
            pub set: Option<Vec<Option<String>>>,
        }
    };
}
pub(crate) use string_set;

/// Defines PrimeHub's `XEdge` and `XConnection` types for a node type.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        #[doc = concat!("An edge of a `", stringify!($connection), "`.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// The item at the end of the edge.
            pub node: $node,
            /// A cursor for use in pagination.
            pub cursor: String,
        }

        #[doc = concat!("A connection of `", stringify!($node), "`s: `{ pageInfo, edges }`.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $connection {
            /// Information to aid in pagination.
            pub page_info: crate::list::PageInfo,
            /// A list of edges.
            pub edges: Vec<Option<$edge>>,
        }

        impl $connection {
            /// A connection from a page of items (cursor = id).
            pub fn new(items: Vec<(String, $node)>, page_info: crate::list::PageInfo) -> Self {
                $connection {
                    page_info,
                    edges: items
                        .into_iter()
                        .map(|(cursor, node)| Some($edge { node, cursor }))
                        .collect(),
                }
            }
        }
    };
}
pub(crate) use connection;

/// The pagination arguments every list query takes.
pub fn page_args(
    page: Option<i32>,
    before: Option<String>,
    after: Option<String>,
    first: Option<i32>,
    last: Option<i32>,
) -> PageArgs {
    PageArgs {
        page,
        before,
        after,
        first,
        last,
    }
}

/// `EnvVar { name, value }`.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The variable's name.
    pub name: Option<String>,
    /// Its value.
    pub value: Option<String>,
}

/// A float field of the API as a JSON number for lists (sorting, filtering).
pub fn json_f64(value: Option<f64>) -> serde_json::Value {
    value
        .and_then(serde_json::Number::from_f64)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// A string field for lists.
pub fn json_str(value: Option<&str>) -> serde_json::Value {
    value
        .map(|s| serde_json::Value::String(s.to_owned()))
        .unwrap_or(serde_json::Value::Null)
}

/// The ids of a `connect`/`disconnect` list (`field`), each checked by `exists`: the first
/// unknown one is `REQUEST_BODY_INVALID` naming `<field>[i].id` and saying no `what` has it.
pub(crate) fn existing_ids<'a>(
    field: &str,
    what: &str,
    ids: impl IntoIterator<Item = &'a async_graphql::ID>,
    exists: impl Fn(&str) -> bool,
) -> crate::error::Result<Vec<String>> {
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            if exists(id) {
                Ok(id.to_string())
            } else {
                Err(crate::error::Error::invalid(
                    format!("{field}[{i}].id"),
                    format!("no {what} has id {}", id.as_str()),
                ))
            }
        })
        .collect()
}
