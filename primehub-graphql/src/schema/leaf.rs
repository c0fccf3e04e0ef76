//! A faster way through async-graphql's executor for the objects `me.effectiveGroups` lists by
//! the dozen (images, instance types, datasets).
//!
//! The executor resolves every field of every object as a boxed future in a `FuturesUnordered`
//! of its own: for a `{ name }` selection on 100 objects that is most of a warm `me`'s CPU.
//! [`Leaf`] answers a selection made only of plain fields — no arguments, directives,
//! fragments or sub-selections, each one the type computes without a context
//! ([`PlainFields`]) — by building the object directly, in selection order, as the executor
//! would; any other selection goes through the executor unchanged. The schema does not change:
//! `Leaf<T>` registers as `T`.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};

/// A type whose argument-less plain fields can be computed without a context.
pub trait PlainFields: OutputType {
    /// The value of field `name` as its resolver returns it, or `None` when the field needs
    /// the executor (a context, arguments, a sub-selection).
    fn plain_field(&self, name: &str) -> Option<Value>;
}

/// `T`, resolved directly when the selection allows (see the [module docs](self)).
pub struct Leaf<T>(pub T);

impl<T: PlainFields> Leaf<T> {
    /// The object for a selection of plain fields only, else `None`.
    fn direct(&self, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        let items = &ctx.item.node.items;
        let mut object = IndexMap::with_capacity(items.len());
        for selection in items {
            let Selection::Field(field) = &selection.node else {
                return None;
            };
            let Field {
                name,
                arguments,
                directives,
                selection_set,
                ..
            } = &field.node;
            if !arguments.is_empty()
                || !directives.is_empty()
                || !selection_set.node.items.is_empty()
            {
                return None;
            }
            let value = if name.node == "__typename" {
                Value::String(self.0.introspection_type_name().into_owned())
            } else {
                self.0.plain_field(name.node.as_str())?
            };
            let key = field.node.response_key().node.clone();
            // The executor merges repeated keys; leave that to it.
            if object.insert(key, value).is_some() {
                return None;
            }
        }
        Some(if object.is_empty() {
            Value::Null
        } else {
            Value::Object(object)
        })
    }
}

impl<T: PlainFields> OutputType for Leaf<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match self.direct(ctx) {
            Some(value) => Ok(value),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// The value of a [`Listable`](crate::list::Listable) field that is text or null (what the
/// list filters compare is what the resolvers return, for these fields); `None` otherwise.
pub(crate) fn text_of(value: serde_json::Value) -> Option<Value> {
    match value {
        serde_json::Value::String(s) => Some(Value::String(s)),
        serde_json::Value::Null => Some(Value::Null),
        _ => None,
    }
}
