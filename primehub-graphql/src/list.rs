//! PrimeHub's list semantics: `where` filters, `orderBy`, numbered and cursor pagination.
//!
//! Every list query of PrimeHub (`xs`, `xsConnection`) lists *all* objects, filters them,
//! sorts them and pages them in memory (`packages/graphql-server/src/resolvers/utils.ts`:
//! `filter`, `paginate`, `toRelay`). This module reproduces those rules on any [`Listable`]
//! row, with PrimeHub's edge cases (they are documented on each function and tested in
//! `tests/it/list.rs`):
//!
//! * [`filter`]: the `where` input, key by key — `id` exact; any key containing `contains`
//!   a case-sensitive substring (or, on a list field, membership); a key containing `_in`
//!   membership of the field in the given list; keys containing `gt` / `lt` / `_eq`
//!   comparisons; `search` over the resource's search fields; `_or` (images) any of the
//!   nested `where`s; every other key ignored. A field that is absent, `null`, `""`, `0` or
//!   `false` never matches a rule (PrimeHub tests `row[field] && …`).
//! * [`order`]: the `orderBy` input; only its first key counts, its value must be `"asc"` or
//!   `"desc"`; stable (ties keep their order); `null` sorts last ascending and first
//!   descending, as lodash's `orderBy` does.
//! * [`paginate`]: `page` (numbered, [`ITEMS_PER_PAGE`] rows a page, 1-based) or the cursors
//!   `before`/`after` (row ids) then `first`/`last`. The same rows are what the plain list
//!   query (`xs`) returns: use [`Paged::items`].
//! * [`paginate_users`] / [`user_by_id`]: the user lists, which PrimeHub pages in Keycloak
//!   with page numbers as cursors (`resolvers/user.ts`).
//!
//! Deliberate differences (PrimeHub's behaviour there is an accident of JavaScript):
//! * A `null` value in `where` or `orderBy` is the same as an absent key (graphql-js keeps
//!   explicit nulls; async-graphql input objects serialise absent fields as `null`).
//! * In numbered pagination PrimeHub leaves the non-null `hasNextPage`/`hasPreviousPage` unset
//!   (querying them is an error there); we answer whether the page has rows after / before it.
//! * In the users' cursor pagination without `page`/`after`/`before` PrimeHub's `currentPage`
//!   is `NaN` (an error when queried); we answer 1.
//! * Sorting a field holding values of different JSON types orders them by type (booleans,
//!   numbers, strings, lists, objects, then null) instead of JavaScript's coercions, which are
//!   not a total order. PrimeHub's fields have one GraphQL type each, so this does not arise.
//!
//! Inferred, not read: the public history of `utils.ts` available to us stops before `search`
//! and `_or` were added to `filter` (group.ts and secret.ts already pass `searchFields`). We
//! match `search` as a case-insensitive substring of any search field (as Keycloak's user
//! search does) and `_or` as "any of the nested filters matches".

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::{Error, Result};

/// Rows per page of numbered pagination (`page`), as PrimeHub's `ITEMS_PER_PAGE`.
pub const ITEMS_PER_PAGE: usize = 10;

/// Rows per page of the user lists when neither `first` nor `last` is given.
pub const DEFAULT_USER_PAGE_SIZE: i64 = 10;

/// A row of a list: its id (the cursor) and its fields as the API shows them.
pub trait Listable {
    /// The row's id, also its cursor (for custom resources the object name, for groups and
    /// users the Keycloak id).
    fn id(&self) -> &str;

    /// The field `name` (the GraphQL field name, e.g. `displayName`), `Value::Null` when the
    /// row has no such field or it is unset.
    fn field(&self, name: &str) -> Value;

    /// The key [`order`] sorts by for `orderBy: {name: …}`; by default the field itself.
    /// Override it for custom comparators, e.g. groups' quotas, where an unset quota means
    /// "unlimited" and sorts as +infinity ([`SortKey::null_as_infinity`]).
    fn sort_key(&self, name: &str) -> SortKey {
        SortKey::Value(self.field(name))
    }
}

impl Listable for Value {
    /// The `id` member, `""` when there is none.
    fn id(&self) -> &str {
        self.get("id").and_then(Value::as_str).unwrap_or("")
    }

    fn field(&self, name: &str) -> Value {
        self.get(name).cloned().unwrap_or(Value::Null)
    }
}

impl<T: Listable + ?Sized> Listable for &T {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn field(&self, name: &str) -> Value {
        (**self).field(name)
    }
    fn sort_key(&self, name: &str) -> SortKey {
        (**self).sort_key(name)
    }
}

impl<T: Listable + ?Sized> Listable for Arc<T> {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn field(&self, name: &str) -> Value {
        (**self).field(name)
    }
    fn sort_key(&self, name: &str) -> SortKey {
        (**self).sort_key(name)
    }
}

/// What a row sorts by (see [`Listable::sort_key`]).
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// A JSON value, compared as lodash's `orderBy` compares it: numbers by value, strings by
    /// UTF-16 code units, `false < true`, `null` after everything.
    Value(Value),
    /// Greater than every number and before `null` (JavaScript's `Infinity`).
    PosInfinity,
}

impl SortKey {
    /// PrimeHub's quota comparator: an unset quota (`null`) sorts as +infinity.
    pub fn null_as_infinity(value: Value) -> SortKey {
        if value.is_null() {
            SortKey::PosInfinity
        } else {
            SortKey::Value(value)
        }
    }
}

impl From<Value> for SortKey {
    fn from(value: Value) -> SortKey {
        SortKey::Value(value)
    }
}

// ----- filter -----

/// Keeps the rows matching `where_` (PrimeHub's `filter`), in their order.
///
/// `search_fields` are the fields the `search` key matches (`["name", "displayName"]` for
/// groups); with none, `search` is ignored. No `where_`, or an empty one, keeps every row.
/// The rules, per key (a `null` value is skipped):
/// * `id`: the row's id equals the value.
/// * a key containing `contains` (`name_contains`): the field is a non-empty string containing
///   the value (case-sensitive), or a list containing it.
/// * a key containing `_in` (`name_in`): the field is truthy and equal to an element of the
///   list (a single value counts as a list of one, as GraphQL coerces it).
/// * a key containing `gt` / `lt` (`x_gt`, `x_lt`): the field is truthy and greater / less
///   than the value (strings by UTF-16 code units, otherwise as numbers).
/// * a key containing `_eq` (`x_eq`): the field is truthy and strictly equal to the value.
/// * `search`: a non-empty string found (case-insensitively) in one of `search_fields`.
/// * `_or`: a list of nested `where`s, at least one of which the row matches (an empty list,
///   or one of only nulls, is no constraint).
/// * any other key is ignored.
///
/// The field name is the key without its first `_contains` / `_in` / `_gt` / `_lt` / `_eq`;
/// the rules are tried in the order above, as PrimeHub's substring tests are (so a key holding
/// both `contains` and `_in` is a `contains` rule).
pub fn filter<T: Listable>(
    items: Vec<T>,
    where_: Option<&Map<String, Value>>,
    search_fields: &[&str],
) -> Vec<T> {
    let Some(where_) = where_.filter(|w| !w.is_empty()) else {
        return items;
    };
    items
        .into_iter()
        .filter(|row| matches(row, where_, search_fields))
        .collect()
}

/// Whether one row matches `where_` (the predicate of [`filter`]).
pub fn matches<T: Listable + ?Sized>(
    row: &T,
    where_: &Map<String, Value>,
    search_fields: &[&str],
) -> bool {
    where_
        .iter()
        .all(|(key, wanted)| key_matches(row, key, wanted, search_fields))
}

fn key_matches<T: Listable + ?Sized>(
    row: &T,
    key: &str,
    wanted: &Value,
    search_fields: &[&str],
) -> bool {
    if wanted.is_null() {
        return true;
    }
    if key == "search" {
        return search_matches(row, wanted, search_fields);
    }
    if key == "_or" {
        return or_matches(row, wanted, search_fields);
    }
    if key == "id" {
        return wanted.as_str() == Some(row.id());
    }
    if key.contains("contains") {
        let value = field_of(row, &key.replacen("_contains", "", 1));
        return truthy(&value) && js_includes(&value, wanted);
    }
    if key.contains("_in") {
        let value = field_of(row, &key.replacen("_in", "", 1));
        let list = match wanted {
            Value::Array(list) => list.as_slice(),
            single => std::slice::from_ref(single),
        };
        return truthy(&value) && list.iter().any(|x| js_strict_eq(x, &value));
    }
    if key.contains("gt") {
        let value = field_of(row, &key.replacen("_gt", "", 1));
        return truthy(&value) && js_compare(&value, wanted) == Some(Ordering::Greater);
    }
    if key.contains("lt") {
        let value = field_of(row, &key.replacen("_lt", "", 1));
        return truthy(&value) && js_compare(&value, wanted) == Some(Ordering::Less);
    }
    if key.contains("_eq") {
        let value = field_of(row, &key.replacen("_eq", "", 1));
        return truthy(&value) && js_strict_eq(&value, wanted);
    }
    true
}

fn search_matches<T: Listable + ?Sized>(row: &T, wanted: &Value, search_fields: &[&str]) -> bool {
    let Some(search) = wanted.as_str().filter(|s| !s.is_empty()) else {
        return true;
    };
    if search_fields.is_empty() {
        return true;
    }
    let search = search.to_lowercase();
    search_fields.iter().any(|f| match field_of(row, f) {
        Value::String(s) => s.to_lowercase().contains(&search),
        _ => false,
    })
}

fn or_matches<T: Listable + ?Sized>(row: &T, wanted: &Value, search_fields: &[&str]) -> bool {
    let alternatives: Vec<&Value> = match wanted {
        Value::Array(list) => list.iter().filter(|w| !w.is_null()).collect(),
        single => vec![single],
    };
    if alternatives.is_empty() {
        return true;
    }
    alternatives.into_iter().any(|w| match w {
        Value::Object(w) => matches(row, w, search_fields),
        _ => false,
    })
}

/// The field, with `id` falling back to the row's id.
fn field_of<T: Listable + ?Sized>(row: &T, name: &str) -> Value {
    match row.field(name) {
        Value::Null if name == "id" => Value::String(row.id().to_owned()),
        value => value,
    }
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `field.includes(needle)` for strings and arrays.
fn js_includes(field: &Value, needle: &Value) -> bool {
    match field {
        Value::String(s) => js_to_string(needle).is_some_and(|n| s.contains(n.as_str())),
        Value::Array(items) => items.iter().any(|x| js_strict_eq(x, needle)),
        _ => false,
    }
}

/// `String(value)` for the values a `where` input can hold.
fn js_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_owned()),
        Value::Number(n) => Some(match Num::of(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            Num::Float(f) => f.to_string(),
        }),
        Value::Array(items) => items
            .iter()
            .map(|x| {
                if x.is_null() {
                    Some(String::new())
                } else {
                    js_to_string(x)
                }
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        Value::Object(_) => Some("[object Object]".to_owned()),
    }
}

/// `a === b` (objects and arrays are never equal to a value from the input).
fn js_strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => Num::of(x).cmp(Num::of(y)) == Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// JavaScript's relational comparison (`a > b`, `a < b`): two strings by UTF-16 code units,
/// anything else as numbers; `None` when a side is not a number (`NaN`).
fn js_compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(utf16_cmp(x, y)),
        _ => Num::js_number(a)?.cmp(Num::js_number(b)?),
    }
}

fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A JSON number, integers kept exact.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i128::from(i))
        } else if let Some(u) = n.as_u64() {
            Num::Int(i128::from(u))
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// JavaScript's `ToNumber` on JSON values (lists and objects give `NaN`, i.e. `None`).
    fn js_number(value: &Value) -> Option<Num> {
        match value {
            Value::Null => Some(Num::Int(0)),
            Value::Bool(b) => Some(Num::Int(i128::from(*b))),
            Value::Number(n) => Some(Num::of(n)),
            Value::String(s) => js_string_to_number(s),
            Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// Exact comparison; `None` when a side is `NaN`.
    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Int(a), Num::Float(b)) => int_float_cmp(a, b),
            (Num::Float(a), Num::Int(b)) => int_float_cmp(b, a).map(Ordering::reverse),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
        }
    }
}

/// Compares an integer with a float exactly.
fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^127: beyond i128's range.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    // In range, so the cast is exact.
    let whole_int = whole as i128;
    Some(match i.cmp(&whole_int) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole))?,
        other => other,
    })
}

/// JavaScript's `ToNumber` of a string (decimal forms and `Infinity`; `0x…` and others are
/// `NaN`).
fn js_string_to_number(s: &str) -> Option<Num> {
    let t = s.trim_matches(js_whitespace);
    if t.is_empty() {
        return Some(Num::Int(0));
    }
    match t {
        "Infinity" | "+Infinity" => return Some(Num::Float(f64::INFINITY)),
        "-Infinity" => return Some(Num::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    if let Ok(i) = t.parse::<i128>() {
        return Some(Num::Int(i));
    }
    t.parse::<f64>().ok().map(Num::Float)
}

fn js_whitespace(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

// ----- order -----

/// Sorts the rows by `order_by` (PrimeHub's `orderBy` input), stably.
///
/// `order_by` is the input's entries in the schema's field order, e.g. `&map` for a
/// `serde_json::Map` or `[("name", json!("asc"))]`; entries with a `null` value are skipped.
/// Only the first remaining entry counts (PrimeHub's `Object.keys(order)[0]`: graphql-js
/// builds input objects in the schema's field order, so for `{quotaCpu: "asc", name: "desc"}`
/// on `GroupOrderByInput` it is `name`). Note that a `serde_json::Map` without the
/// `preserve_order` feature iterates in alphabetical order, not the schema's.
///
/// The value must be `"asc"` or `"desc"`, otherwise the error names the argument
/// (`orderBy.<key>`) and the value, with PrimeHub's message. Rows compare by
/// [`Listable::sort_key`]; ties keep their order in both directions; `null` is last ascending
/// and first descending. No entries: the order is unchanged.
pub fn order<T, I, K, V>(items: &mut [T], order_by: I) -> Result<()>
where
    T: Listable,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Borrow<Value>,
{
    let Some((key, direction)) = order_by.into_iter().find(|(_, v)| !v.borrow().is_null()) else {
        return Ok(());
    };
    let key = key.as_ref();
    let descending = match direction.borrow() {
        Value::String(d) if d == "asc" => false,
        Value::String(d) if d == "desc" => true,
        other => {
            let shown = match other {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            return Err(Error::invalid(
                format!("orderBy.{key}"),
                format!("order value ({shown}) not valid. Should be 'asc' or 'desc'"),
            ));
        }
    };
    let mut keyed: Vec<(SortKey, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, row)| (row.sort_key(key), i))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        let ascending = compare_sort_keys(a, b);
        if descending {
            ascending.reverse()
        } else {
            ascending
        }
    });
    let permutation: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    apply_permutation(items, permutation);
    Ok(())
}

/// Puts `items[permutation[k]]` at position `k`.
fn apply_permutation<T>(items: &mut [T], mut permutation: Vec<usize>) {
    for start in 0..permutation.len() {
        let mut current = start;
        loop {
            let source = permutation[current];
            permutation[current] = current;
            if source == start {
                break;
            }
            items.swap(current, source);
            current = source;
        }
    }
}

/// lodash's `compareAscending` made a total order: by type class, then within the class.
pub fn compare_sort_keys(a: &SortKey, b: &SortKey) -> Ordering {
    fn class(key: &SortKey) -> u8 {
        match key {
            SortKey::Value(Value::Bool(_)) => 0,
            SortKey::Value(Value::Number(_)) | SortKey::PosInfinity => 1,
            SortKey::Value(Value::String(_)) => 2,
            SortKey::Value(Value::Array(_)) => 3,
            SortKey::Value(Value::Object(_)) => 4,
            SortKey::Value(Value::Null) => 5,
        }
    }
    match class(a).cmp(&class(b)) {
        Ordering::Equal => {}
        other => return other,
    }
    match (a, b) {
        (SortKey::PosInfinity, SortKey::PosInfinity) => Ordering::Equal,
        (SortKey::PosInfinity, _) => Ordering::Greater,
        (_, SortKey::PosInfinity) => Ordering::Less,
        (SortKey::Value(Value::Bool(x)), SortKey::Value(Value::Bool(y))) => x.cmp(y),
        (SortKey::Value(Value::Number(x)), SortKey::Value(Value::Number(y))) => {
            Num::of(x).cmp(Num::of(y)).unwrap_or(Ordering::Equal)
        }
        (SortKey::Value(Value::String(x)), SortKey::Value(Value::String(y))) => utf16_cmp(x, y),
        _ => Ordering::Equal,
    }
}

// ----- pagination -----

/// The pagination arguments of a list query (`page`, `before`, `after`, `first`, `last`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageArgs {
    /// Numbered pagination: the 1-based page; when given the other arguments are ignored.
    pub page: Option<i32>,
    /// Only rows before the row with this id.
    pub before: Option<String>,
    /// Only rows after the row with this id.
    pub after: Option<String>,
    /// At most this many rows from the start (after the cursors).
    pub first: Option<i32>,
    /// At most this many rows from the end (after the cursors and `first`).
    pub last: Option<i32>,
}

impl PageArgs {
    /// Whether no argument is given (the whole list, PrimeHub's `isEmpty(pagination)`).
    pub fn is_empty(&self) -> bool {
        self.page.is_none()
            && self.before.is_none()
            && self.after.is_none()
            && self.first.is_none()
            && self.last.is_none()
    }
}

/// PrimeHub's `PageInfo` (`common.graphql`), embedded in every `XConnection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct PageInfo {
    /// Numbered pagination: the current page (1-based).
    pub current_page: Option<i32>,
    /// Numbered pagination: the number of pages (at least 1).
    pub total_page: Option<i32>,
    /// When paginating forwards, are there more items?
    pub has_next_page: bool,
    /// When paginating backwards, are there more items?
    pub has_previous_page: bool,
    /// When paginating backwards, the cursor to continue.
    pub start_cursor: Option<String>,
    /// When paginating forwards, the cursor to continue.
    pub end_cursor: Option<String>,
}

/// One page of rows and its [`PageInfo`]. Each row's cursor (its edge's `cursor`) is its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The page's rows, in order; also what the plain list query (`xs`) returns.
    pub items: Vec<T>,
    /// The connection's `pageInfo`.
    pub page_info: PageInfo,
}

/// Pages filtered and sorted rows as PrimeHub's `toRelay` (connection) and `paginate` (plain
/// list) do.
///
/// * `page` given: rows `(page-1)*10 .. page*10` (JavaScript `slice` bounds, so page 0 is
///   empty and a negative page counts from the end), `currentPage = page`,
///   `totalPage = ceil(rows / 10)`; no rows at all: `currentPage = totalPage = 1`. Cursors are
///   null; `hasNextPage`/`hasPreviousPage` tell whether rows follow / precede the page.
/// * no argument: every row; `hasNextPage = hasPreviousPage = false`, cursors the first and
///   last rows' ids.
/// * otherwise: `before` keeps the rows up to that id (all if unknown), `after` the rows after
///   it (all if unknown), then `first` keeps the first n, `last` the last n (0 or negative:
///   none). `hasNextPage`: the page is non-empty and does not end with the last row;
///   `hasPreviousPage`: non-empty and not starting with the first row; cursors are the page's
///   first and last ids.
pub fn paginate<T: Listable>(items: Vec<T>, args: &PageArgs) -> Paged<T> {
    match args.page {
        Some(page) => numbered(items, page),
        None => cursor(items, args),
    }
}

fn numbered<T: Listable>(items: Vec<T>, page: i32) -> Paged<T> {
    let len = items.len();
    if len == 0 {
        return Paged {
            items,
            page_info: PageInfo {
                current_page: Some(1),
                total_page: Some(1),
                ..PageInfo::default()
            },
        };
    }
    let total = len.div_ceil(ITEMS_PER_PAGE);
    let per_page = ITEMS_PER_PAGE as i64;
    let offset = (i64::from(page) - 1) * per_page;
    let (start, end) = js_slice_bounds(len, offset, offset + per_page);
    let has_rows = start < end;
    let page_info = PageInfo {
        current_page: Some(page),
        total_page: Some(saturating_i32(total as i128)),
        has_next_page: has_rows && end < len,
        has_previous_page: has_rows && start > 0,
        start_cursor: None,
        end_cursor: None,
    };
    let items = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Paged { items, page_info }
}

/// `Array.prototype.slice(start, end)` bounds on a list of `len`.
fn js_slice_bounds(len: usize, start: i64, end: i64) -> (usize, usize) {
    let len_i = len as i64;
    let clamp = |x: i64| -> usize {
        let x = if x < 0 {
            (len_i + x).max(0)
        } else {
            x.min(len_i)
        };
        usize::try_from(x).unwrap_or(0)
    };
    let (s, e) = (clamp(start), clamp(end));
    if s >= e { (s, s) } else { (s, e) }
}

fn cursor<T: Listable>(items: Vec<T>, args: &PageArgs) -> Paged<T> {
    if args.is_empty() {
        let page_info = PageInfo {
            start_cursor: items.first().map(|r| r.id().to_owned()),
            end_cursor: items.last().map(|r| r.id().to_owned()),
            ..PageInfo::default()
        };
        return Paged { items, page_info };
    }
    let first_id = items.first().map(|r| r.id().to_owned());
    let last_id = items.last().map(|r| r.id().to_owned());
    let mut rows = items;
    if let Some(before) = &args.before
        && let Some(pos) = rows.iter().position(|r| r.id() == before)
    {
        rows.truncate(pos);
    }
    if let Some(after) = &args.after
        && let Some(pos) = rows.iter().rposition(|r| r.id() == after)
    {
        rows.drain(..=pos);
    }
    if let Some(first) = args.first {
        rows.truncate(usize::try_from(first).unwrap_or(0));
    }
    if let Some(last) = args.last {
        let keep = usize::try_from(last).unwrap_or(0);
        let drop = rows.len().saturating_sub(keep);
        rows.drain(..drop);
    }
    let page_info = PageInfo {
        current_page: None,
        total_page: None,
        has_next_page: rows
            .last()
            .is_some_and(|r| Some(r.id()) != last_id.as_deref()),
        has_previous_page: rows
            .first()
            .is_some_and(|r| Some(r.id()) != first_id.as_deref()),
        start_cursor: rows.first().map(|r| r.id().to_owned()),
        end_cursor: rows.last().map(|r| r.id().to_owned()),
    };
    Paged {
        items: rows,
        page_info,
    }
}

// ----- users -----

/// Pages the users as PrimeHub's `users` / `usersConnection` do: in Keycloak, with page
/// numbers as the connection's cursors (`resolvers/user.ts`, `listQuery`).
///
/// `selected` are the users Keycloak's `GET users` would select for the `where` input, in
/// Keycloak's order (by username, service accounts excluded): `where.search` as Keycloak's
/// `search` parameter, otherwise `username_contains` / `email_contains` as its `username` /
/// `email` parameters (case-insensitive substrings). `total_users` is what PrimeHub puts into
/// `totalPage`: Keycloak's `users/count` of the whole realm, *not* of the selection.
/// `where.id` is a lookup instead: see [`user_by_id`].
///
/// * page size `limit`: `first`, or when `first` is absent or 0, `last`, or else 10. A limit
///   of 0 (`last: 0`) gives an empty page with no page numbers.
/// * page index: `page - 1` when `page >= 0` is given, else the integer at the start of
///   `after` (or, when `after` is absent or empty, `before`) — JavaScript's `parseInt`, so
///   `"2"`, `" 2"` and `"2x"` are all 2 — else the first page (index 0).
/// * the page is `limit` users from `index * limit` (a negative offset counts as 0).
/// * `hasNextPage` when a further user exists; `endCursor` is then the next page's index
///   (`"1"` from the first page) and otherwise null; `startCursor` is the previous index
///   (`index - 1`, null on the first page) and `hasPreviousPage` whether it is set;
///   `currentPage = index + 1`; `totalPage = ceil(total_users / limit)`.
///
/// Edge cursors stay the users' ids. Negative sizes are reproduced mechanically (Keycloak
/// ignores a negative `max`).
pub fn paginate_users<T: Listable>(
    selected: Vec<T>,
    total_users: usize,
    args: &PageArgs,
) -> Paged<T> {
    let limit = user_page_size(args);
    if limit == 0 {
        return empty_page();
    }
    let cursor = match &args.after {
        Some(after) if !after.is_empty() => Some(after.as_str()),
        _ => args.before.as_deref(),
    };
    let mut index: Option<i128> = cursor.and_then(js_parse_int);
    if let Some(page) = args.page.filter(|p| *p >= 0) {
        index = Some(i128::from(page) - 1);
    }
    let first_page = index.unwrap_or(0) == 0;
    let index_value = index.unwrap_or(0);
    let fetch = i128::from(limit) + 1;
    // Keycloak's `first`: skipped on the first page, ignored when negative.
    let offset = match index_value.saturating_mul(i128::from(limit)) {
        o if first_page || o <= 0 => 0,
        o => usize::try_from(o).unwrap_or(usize::MAX),
    };
    let mut users: Vec<T> = match usize::try_from(fetch) {
        Ok(max) => selected.into_iter().skip(offset).take(max).collect(),
        Err(_) => selected.into_iter().skip(offset).collect(),
    };
    let start_cursor = (!first_page).then(|| index_value - 1);
    let (has_next_page, end_cursor) = if i128::try_from(users.len()).ok() == Some(fetch) {
        users.pop();
        (true, Some(if first_page { 1 } else { index_value + 1 }))
    } else {
        (false, None)
    };
    let page_info = PageInfo {
        current_page: Some(saturating_i32(index_value + 1)),
        total_page: Some(saturating_i32(js_ceil_div(
            total_users as i128,
            i128::from(limit),
        ))),
        has_next_page,
        has_previous_page: start_cursor.is_some(),
        start_cursor: start_cursor.map(|c| c.to_string()),
        end_cursor: end_cursor.map(|c| c.to_string()),
    };
    Paged {
        items: users,
        page_info,
    }
}

/// The user lists with `where.id`: PrimeHub looks the user up and returns it alone, whatever
/// the other filters say (`first`/`last` of 0 still give an empty page, checked first).
/// Found: one row, no next or previous page, both cursors its id. Not found: an empty page.
pub fn user_by_id<T: Listable>(found: Option<T>, args: &PageArgs) -> Paged<T> {
    if user_page_size(args) == 0 {
        return empty_page();
    }
    match found {
        Some(user) => {
            let id = user.id().to_owned();
            Paged {
                items: vec![user],
                page_info: PageInfo {
                    start_cursor: Some(id.clone()),
                    end_cursor: Some(id),
                    ..PageInfo::default()
                },
            }
        }
        None => empty_page(),
    }
}

/// `parseInt(first || last, 10)`, 10 when that is `NaN`.
fn user_page_size(args: &PageArgs) -> i32 {
    match (args.first, args.last) {
        (Some(first), _) if first != 0 => first,
        (_, Some(last)) => last,
        _ => DEFAULT_USER_PAGE_SIZE as i32,
    }
}

fn empty_page<T>() -> Paged<T> {
    Paged {
        items: Vec::new(),
        page_info: PageInfo::default(),
    }
}

/// JavaScript's `parseInt(s, 10)`: leading whitespace, an optional sign, then the leading
/// decimal digits; `None` (`NaN`) without digits. Saturates instead of losing precision.
pub fn js_parse_int(s: &str) -> Option<i128> {
    let t = s.trim_start_matches(js_whitespace);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: &str = &digits[..digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len())];
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.bytes().fold(0i128, |acc, d| {
        acc.saturating_mul(10).saturating_add(i128::from(d - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// `Math.ceil(a / b)` for integers (b ≠ 0).
fn js_ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && ((a < 0) == (b < 0)) {
        q + 1
    } else {
        q
    }
}

fn saturating_i32(x: i128) -> i32 {
    i32::try_from(x).unwrap_or(if x < 0 { i32::MIN } else { i32::MAX })
}
