//! PrimeHub's list semantics (`resolvers/utils.ts`, `resolvers/user.ts`): filters, ordering,
//! numbered and cursor pagination, the users' Keycloak-style paging.

use primehub_graphql::list::{
    self, ITEMS_PER_PAGE, Listable, PageArgs, PageInfo, Paged, SortKey, filter, order, paginate,
    paginate_users, user_by_id,
};
use primehub_graphql::{Error, ErrorCode};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn rows(values: Value) -> Vec<Value> {
    match values {
        Value::Array(items) => items,
        other => panic!("not a list: {other}"),
    }
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn ids<T: Listable>(items: &[T]) -> Vec<&str> {
    items.iter().map(Listable::id).collect()
}

/// Rows `r00`, `r01`, … with `name` = id.
fn numbered_rows(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": format!("r{i:02}"), "name": format!("r{i:02}")}))
        .collect()
}

fn id_range(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("r{i:02}")).collect()
}

fn where_(value: Value) -> Map<String, Value> {
    obj(value)
}

fn groups() -> Vec<Value> {
    rows(json!([
        {"id": "g1", "name": "phusers", "displayName": "PrimeHub users", "quotaCpu": 2},
        {"id": "g2", "name": "PhUsers-2", "displayName": "Second", "quotaCpu": null},
        {"id": "g3", "name": "research", "displayName": "", "quotaCpu": 0.5},
        {"id": "g4", "name": "ml-team", "quotaCpu": 8},
    ]))
}

fn filtered(where_value: Value, search_fields: &[&str]) -> Vec<String> {
    let w = where_(where_value);
    filter(groups(), Some(&w), search_fields)
        .iter()
        .map(|r| r.id().to_owned())
        .collect()
}

// ----- filter -----

#[test]
fn no_where_or_an_empty_one_keeps_every_row_in_order() {
    assert_eq!(
        ids(&filter(groups(), None, &["name"])),
        ["g1", "g2", "g3", "g4"]
    );
    let empty = Map::new();
    assert_eq!(
        ids(&filter(groups(), Some(&empty), &["name"])),
        ["g1", "g2", "g3", "g4"]
    );
}

#[test]
fn id_is_an_exact_match() {
    assert_eq!(filtered(json!({"id": "g3"}), &[]), ["g3"]);
    assert!(filtered(json!({"id": "g"}), &[]).is_empty());
}

#[test]
fn contains_is_a_case_sensitive_substring() {
    // PhUsers-2 holds "Users", not "users".
    assert_eq!(filtered(json!({"name_contains": "users"}), &[]), ["g1"]);
    assert_eq!(filtered(json!({"name_contains": "Users"}), &[]), ["g2"]);
    assert_eq!(
        filtered(json!({"displayName_contains": "PrimeHub"}), &[]),
        ["g1"]
    );
}

#[test]
fn contains_never_matches_an_absent_or_empty_field() {
    // research's displayName is "", ml-team has none: even "" does not match them.
    assert_eq!(
        filtered(json!({"displayName_contains": ""}), &[]),
        ["g1", "g2"]
    );
}

#[test]
fn contains_on_a_list_field_is_membership() {
    let images = rows(json!([
        {"id": "a", "tags": ["gpu", "cuda"]},
        {"id": "b", "tags": ["cpu"]},
        {"id": "c", "tags": []},
    ]));
    let w = where_(json!({"tags_contains": "gpu"}));
    assert_eq!(ids(&filter(images.clone(), Some(&w), &[])), ["a"]);
    let w = where_(json!({"tags_contains": "gp"}));
    assert!(filter(images, Some(&w), &[]).is_empty());
}

#[test]
fn several_keys_must_all_match() {
    assert_eq!(
        filtered(
            json!({"name_contains": "e", "displayName_contains": "users"}),
            &[]
        ),
        ["g1"]
    );
}

#[test]
fn in_is_membership_of_a_truthy_field() {
    assert_eq!(
        filtered(json!({"name_in": ["research", "ml-team", "nope"]}), &[]),
        ["g3", "g4"]
    );
    // A single value is a list of one, as GraphQL coerces it.
    assert_eq!(filtered(json!({"name_in": "research"}), &[]), ["g3"]);
    // An empty displayName is never "in" a list, even one holding "".
    assert!(filtered(json!({"displayName_in": [""]}), &[]).is_empty());
    // Membership is strict equality: the number 2 is not the string "2".
    assert_eq!(filtered(json!({"quotaCpu_in": [2, 8]}), &[]), ["g1", "g4"]);
    assert!(filtered(json!({"quotaCpu_in": ["2"]}), &[]).is_empty());
}

#[test]
fn gt_lt_compare_numbers_exactly_and_strings_by_code_units() {
    assert_eq!(filtered(json!({"quotaCpu_gt": 1}), &[]), ["g1", "g4"]);
    assert_eq!(filtered(json!({"quotaCpu_gt": 1.99}), &[]), ["g1", "g4"]);
    assert_eq!(filtered(json!({"quotaCpu_gt": 2.0}), &[]), ["g4"]);
    assert_eq!(filtered(json!({"quotaCpu_lt": 2}), &[]), ["g3"]);
    // Strings compare as strings: "research" > "phusers" > "ml-team" > "PhUsers-2".
    assert_eq!(filtered(json!({"name_gt": "phusers"}), &[]), ["g3"]);
    assert_eq!(filtered(json!({"name_lt": "a"}), &[]), ["g2"]);
    // A numeric string against a number compares as numbers, as JavaScript does.
    assert_eq!(filtered(json!({"quotaCpu_gt": "4"}), &[]), ["g4"]);
}

#[test]
fn a_zero_field_never_matches_a_comparison() {
    let rows = rows(json!([{"id": "a", "gpuLimit": 0}, {"id": "b", "gpuLimit": 1}]));
    let w = where_(json!({"gpuLimit_lt": 5}));
    assert_eq!(ids(&filter(rows.clone(), Some(&w), &[])), ["b"]);
    let w = where_(json!({"gpuLimit_eq": 0}));
    assert!(filter(rows, Some(&w), &[]).is_empty());
}

#[test]
fn eq_is_strict_equality() {
    assert_eq!(filtered(json!({"quotaCpu_eq": 8}), &[]), ["g4"]);
    assert_eq!(filtered(json!({"quotaCpu_eq": 8.0}), &[]), ["g4"]);
    assert!(filtered(json!({"quotaCpu_eq": "8"}), &[]).is_empty());
    assert_eq!(filtered(json!({"name_eq": "research"}), &[]), ["g3"]);
}

#[test]
fn a_key_holding_gt_compares_the_field_it_names() {
    // PrimeHub tests `field.indexOf('gt')`, so a key like `length` is a `>` on `length`.
    let rows = rows(json!([{"id": "a", "length": 2}, {"id": "b", "length": 5}]));
    let w = where_(json!({"length": 3}));
    assert_eq!(ids(&filter(rows, Some(&w), &[])), ["b"]);
}

#[test]
fn search_matches_any_search_field_ignoring_case() {
    let fields = ["name", "displayName"];
    assert_eq!(filtered(json!({"search": "USERS"}), &fields), ["g1", "g2"]);
    assert_eq!(filtered(json!({"search": "second"}), &fields), ["g2"]);
    assert_eq!(filtered(json!({"search": "team"}), &fields), ["g4"]);
    // Only the given fields: secrets search `name` (and PrimeHub's misspelt `dispalyName`).
    assert_eq!(
        filtered(json!({"search": "second"}), &["name", "dispalyName"]),
        Vec::<String>::new()
    );
    // An empty search, or no search fields, is no constraint.
    assert_eq!(filtered(json!({"search": ""}), &fields).len(), 4);
    assert_eq!(filtered(json!({"search": "zzz"}), &[]).len(), 4);
    // Combined with the other keys.
    assert_eq!(
        filtered(json!({"search": "users", "name_contains": "Ph"}), &fields),
        ["g2"]
    );
}

#[test]
fn or_keeps_rows_matching_any_alternative() {
    let images = rows(json!([
        {"id": "tf", "name": "tf-2", "displayName": "TensorFlow 2", "groupName": "ml"},
        {"id": "torch", "name": "pytorch", "displayName": "PyTorch", "groupName": ""},
        {"id": "base", "name": "base-notebook", "displayName": "Base", "groupName": "ml"},
    ]));
    let w = where_(json!({"_or": [{"name_contains": "tf"}, {"displayName_contains": "Torch"}]}));
    assert_eq!(ids(&filter(images.clone(), Some(&w), &[])), ["tf", "torch"]);
    // With other keys: both the other keys and one alternative.
    let w = where_(json!({
        "groupName_contains": "ml",
        "_or": [{"name_contains": "tf"}, {"displayName_contains": "Torch"}]
    }));
    assert_eq!(ids(&filter(images.clone(), Some(&w), &[])), ["tf"]);
    // Alternatives nest.
    let w = where_(json!({"_or": [{"_or": [{"id": "base"}]}]}));
    assert_eq!(ids(&filter(images.clone(), Some(&w), &[])), ["base"]);
    // An empty list, or one of nulls only, is no constraint.
    let w = where_(json!({"_or": []}));
    assert_eq!(filter(images.clone(), Some(&w), &[]).len(), 3);
    let w = where_(json!({"_or": [null]}));
    assert_eq!(filter(images, Some(&w), &[]).len(), 3);
}

#[test]
fn unknown_keys_and_null_values_are_ignored() {
    assert_eq!(
        filtered(
            json!({"ifDockerConfigJson": true, "workspaceId": "x", "mine": true, "name": "nope"}),
            &[]
        )
        .len(),
        4
    );
    assert_eq!(
        filtered(
            json!({"id": null, "name_contains": null, "search": null}),
            &["name"]
        )
        .len(),
        4
    );
}

// ----- order -----

fn ordered(mut items: Vec<Value>, order_by: Value) -> Vec<String> {
    order(&mut items, &obj(order_by)).expect("valid orderBy");
    items.iter().map(|r| r.id().to_owned()).collect()
}

#[test]
fn order_by_name_asc_and_desc() {
    // Strings compare by UTF-16 code units: upper case before lower case.
    assert_eq!(
        ordered(groups(), json!({"name": "asc"})),
        ["g2", "g4", "g1", "g3"]
    );
    assert_eq!(
        ordered(groups(), json!({"name": "desc"})),
        ["g3", "g1", "g4", "g2"]
    );
}

#[test]
fn order_is_stable_in_both_directions() {
    let items = rows(json!([
        {"id": "a", "type": "gpu"}, {"id": "b", "type": "cpu"},
        {"id": "c", "type": "gpu"}, {"id": "d", "type": "cpu"},
    ]));
    assert_eq!(
        ordered(items.clone(), json!({"type": "asc"})),
        ["b", "d", "a", "c"]
    );
    assert_eq!(
        ordered(items, json!({"type": "desc"})),
        ["a", "c", "b", "d"]
    );
}

#[test]
fn only_the_first_order_key_counts() {
    let mut items = groups();
    order(
        &mut items,
        [("name", json!("desc")), ("displayName", json!("asc"))],
    )
    .expect("valid");
    assert_eq!(ids(&items), ["g3", "g1", "g4", "g2"]);
    // Keys set to null are skipped when finding the first.
    let mut items = groups();
    order(
        &mut items,
        [("displayName", Value::Null), ("name", json!("asc"))],
    )
    .expect("valid");
    assert_eq!(ids(&items), ["g2", "g4", "g1", "g3"]);
}

#[test]
fn nulls_sort_last_ascending_and_first_descending() {
    // quotaCpu: g1 2, g2 null, g3 0.5, g4 8; numbers compare as numbers.
    assert_eq!(
        ordered(groups(), json!({"quotaCpu": "asc"})),
        ["g3", "g1", "g4", "g2"]
    );
    assert_eq!(
        ordered(groups(), json!({"quotaCpu": "desc"})),
        ["g2", "g4", "g1", "g3"]
    );
    // An absent field is null too: ml-team has no displayName, research an empty one.
    assert_eq!(
        ordered(groups(), json!({"displayName": "asc"})),
        ["g3", "g1", "g2", "g4"]
    );
}

#[test]
fn strings_sort_by_utf16_code_units_as_javascript() {
    // U+1F600 is D83D DE00 in UTF-16, before U+FF5E (code point order says the opposite).
    let items =
        rows(json!([{"id": "wide", "name": "\u{ff5e}"}, {"id": "emoji", "name": "\u{1f600}"}]));
    assert_eq!(ordered(items, json!({"name": "asc"})), ["emoji", "wide"]);
}

#[test]
fn an_order_value_other_than_asc_or_desc_is_an_error_naming_the_argument() {
    let mut items = groups();
    let err = order(&mut items, &obj(json!({"name": "up"}))).expect_err("invalid");
    assert_eq!(err.code(), ErrorCode::RequestBodyInvalid);
    assert!(matches!(&err, Error::Invalid { field, .. } if field == "orderBy.name"));
    assert_eq!(
        err.to_string(),
        "orderBy.name: order value (up) not valid. Should be 'asc' or 'desc'"
    );
    // PrimeHub is case-sensitive here.
    assert!(order(&mut items, &obj(json!({"name": "ASC"}))).is_err());
    let err = order(&mut items, &obj(json!({"quotaCpu": 1}))).expect_err("invalid");
    assert!(err.to_string().contains("order value (1) not valid"));
    // Nothing was reordered by the failed calls.
    assert_eq!(ids(&items), ["g1", "g2", "g3", "g4"]);
}

#[test]
fn no_order_keeps_the_order() {
    assert_eq!(ordered(groups(), json!({})), ["g1", "g2", "g3", "g4"]);
    assert_eq!(
        ordered(groups(), json!({"name": null})),
        ["g1", "g2", "g3", "g4"]
    );
}

/// A group whose unset quotas sort as unlimited, as PrimeHub's `customComparators`.
struct Group(Value);

impl Listable for Group {
    fn id(&self) -> &str {
        self.0.id()
    }
    fn field(&self, name: &str) -> Value {
        self.0.field(name)
    }
    fn sort_key(&self, name: &str) -> SortKey {
        match name {
            "quotaCpu" | "quotaGpu" | "projectQuotaCpu" | "projectQuotaGpu" => {
                SortKey::null_as_infinity(self.field(name))
            }
            _ => SortKey::Value(self.field(name)),
        }
    }
}

#[test]
fn custom_sort_keys_put_unlimited_quotas_after_every_number() {
    let mut items: Vec<Group> = rows(json!([
        {"id": "unlimited", "quotaCpu": null},
        {"id": "big", "quotaCpu": 1_000_000},
        {"id": "small", "quotaCpu": 0.5},
        {"id": "no-name"},
    ]))
    .into_iter()
    .map(Group)
    .collect();
    order(&mut items, [("quotaCpu", json!("asc"))]).expect("valid");
    assert_eq!(ids(&items), ["small", "big", "unlimited", "no-name"]);
    order(&mut items, [("quotaCpu", json!("desc"))]).expect("valid");
    assert_eq!(ids(&items), ["unlimited", "no-name", "big", "small"]);
    // Other keys are the plain field: null last.
    order(&mut items, [("name", json!("asc"))]).expect("valid");
    assert_eq!(ids(&items), ["unlimited", "no-name", "big", "small"]);
}

#[test]
fn sort_keys_compare_infinity_above_numbers_and_below_null() {
    use std::cmp::Ordering::*;
    let inf = SortKey::PosInfinity;
    let big = SortKey::Value(json!(u64::MAX));
    let null = SortKey::Value(Value::Null);
    assert_eq!(list::compare_sort_keys(&big, &inf), Less);
    assert_eq!(list::compare_sort_keys(&inf, &null), Less);
    assert_eq!(list::compare_sort_keys(&inf, &inf), Equal);
    assert_eq!(
        list::compare_sort_keys(&SortKey::Value(json!(2)), &SortKey::Value(json!(1.5))),
        Greater
    );
}

// ----- numbered pagination -----

fn page(n: usize, args: PageArgs) -> Paged<Value> {
    paginate(numbered_rows(n), &args)
}

fn page_no(p: i32) -> PageArgs {
    PageArgs {
        page: Some(p),
        ..PageArgs::default()
    }
}

#[test]
fn numbered_pages_hold_ten_rows_and_count_from_one() {
    let first = page(25, page_no(1));
    assert_eq!(ids(&first.items), id_range(0, 10));
    assert_eq!(
        first.page_info,
        PageInfo {
            current_page: Some(1),
            total_page: Some(3),
            has_next_page: true,
            has_previous_page: false,
            start_cursor: None,
            end_cursor: None,
        }
    );
    let last = page(25, page_no(3));
    assert_eq!(ids(&last.items), id_range(20, 25));
    assert_eq!(last.page_info.current_page, Some(3));
    assert!(!last.page_info.has_next_page);
    assert!(last.page_info.has_previous_page);
    assert_eq!(ITEMS_PER_PAGE, 10);
}

#[test]
fn a_page_past_the_end_is_empty_but_keeps_its_number() {
    let past = page(25, page_no(4));
    assert!(past.items.is_empty());
    assert_eq!(past.page_info.current_page, Some(4));
    assert_eq!(past.page_info.total_page, Some(3));
    assert!(!past.page_info.has_next_page && !past.page_info.has_previous_page);
}

#[test]
fn no_rows_is_page_one_of_one_whatever_page_was_asked() {
    for p in [1, 5, 0] {
        let empty = page(0, page_no(p));
        assert!(empty.items.is_empty());
        assert_eq!(empty.page_info.current_page, Some(1));
        assert_eq!(empty.page_info.total_page, Some(1));
    }
}

#[test]
fn page_zero_and_negative_pages_follow_javascript_slice() {
    assert!(page(25, page_no(0)).items.is_empty());
    // slice(-20, -10) of 25 rows: rows 5..15.
    let negative = page(25, page_no(-1));
    assert_eq!(ids(&negative.items), id_range(5, 15));
    assert_eq!(negative.page_info.current_page, Some(-1));
}

#[test]
fn page_wins_over_the_cursor_arguments() {
    let p = page(
        25,
        PageArgs {
            page: Some(2),
            first: Some(1),
            after: Some("r20".into()),
            ..PageArgs::default()
        },
    );
    assert_eq!(ids(&p.items), id_range(10, 20));
}

// ----- cursor pagination -----

fn cursor_args(
    first: Option<i32>,
    last: Option<i32>,
    after: Option<&str>,
    before: Option<&str>,
) -> PageArgs {
    PageArgs {
        page: None,
        first,
        last,
        after: after.map(str::to_owned),
        before: before.map(str::to_owned),
    }
}

#[test]
fn no_arguments_give_every_row_with_both_flags_false() {
    let all = page(12, PageArgs::default());
    assert_eq!(all.items.len(), 12);
    assert_eq!(
        all.page_info,
        PageInfo {
            current_page: None,
            total_page: None,
            has_next_page: false,
            has_previous_page: false,
            start_cursor: Some("r00".into()),
            end_cursor: Some("r11".into()),
        }
    );
    let none = page(0, PageArgs::default());
    assert_eq!(none.page_info, PageInfo::default());
}

#[test]
fn first_and_after_walk_forwards() {
    let p1 = page(8, cursor_args(Some(3), None, None, None));
    assert_eq!(ids(&p1.items), ["r00", "r01", "r02"]);
    assert!(p1.page_info.has_next_page && !p1.page_info.has_previous_page);
    assert_eq!(p1.page_info.start_cursor.as_deref(), Some("r00"));
    assert_eq!(p1.page_info.end_cursor.as_deref(), Some("r02"));
    let p2 = page(8, cursor_args(Some(3), None, Some("r02"), None));
    assert_eq!(ids(&p2.items), ["r03", "r04", "r05"]);
    assert!(p2.page_info.has_next_page && p2.page_info.has_previous_page);
    let p3 = page(8, cursor_args(Some(3), None, Some("r05"), None));
    assert_eq!(ids(&p3.items), ["r06", "r07"]);
    assert!(!p3.page_info.has_next_page && p3.page_info.has_previous_page);
}

#[test]
fn last_and_before_walk_backwards() {
    let p = page(8, cursor_args(None, Some(2), None, Some("r03")));
    assert_eq!(ids(&p.items), ["r01", "r02"]);
    assert!(p.page_info.has_next_page && p.page_info.has_previous_page);
    let p = page(8, cursor_args(None, Some(2), None, None));
    assert_eq!(ids(&p.items), ["r06", "r07"]);
    assert!(!p.page_info.has_next_page && p.page_info.has_previous_page);
}

#[test]
fn after_and_before_together_keep_the_rows_between() {
    let p = page(8, cursor_args(None, None, Some("r01"), Some("r05")));
    assert_eq!(ids(&p.items), ["r02", "r03", "r04"]);
    // first then last: first 5, then the last 2 of those.
    let p = page(8, cursor_args(Some(5), Some(2), None, None));
    assert_eq!(ids(&p.items), ["r03", "r04"]);
}

#[test]
fn an_unknown_cursor_keeps_every_row() {
    let p = page(4, cursor_args(Some(2), None, Some("gone"), None));
    assert_eq!(ids(&p.items), ["r00", "r01"]);
    let p = page(4, cursor_args(None, None, None, Some("gone")));
    assert_eq!(p.items.len(), 4);
    assert!(!p.page_info.has_next_page);
}

#[test]
fn zero_or_negative_sizes_give_an_empty_page() {
    for args in [
        cursor_args(Some(0), None, None, None),
        cursor_args(Some(-1), None, None, None),
        cursor_args(None, Some(0), None, None),
        cursor_args(None, Some(-3), None, None),
    ] {
        let p = page(5, args);
        assert!(p.items.is_empty());
        assert!(!p.page_info.has_next_page && !p.page_info.has_previous_page);
        assert_eq!(p.page_info.start_cursor, None);
    }
    let p = page(5, cursor_args(Some(50), None, None, None));
    assert_eq!(p.items.len(), 5);
    assert!(!p.page_info.has_next_page);
}

#[test]
fn the_plain_list_query_returns_the_same_rows() {
    let args = cursor_args(Some(2), None, Some("r03"), None);
    assert_eq!(
        ids(&paginate(numbered_rows(9), &args).items),
        ["r04", "r05"]
    );
}

// ----- users -----

fn users(n: usize) -> Vec<Value> {
    numbered_rows(n)
}

fn user_page(n: usize, total: usize, args: PageArgs) -> Paged<Value> {
    paginate_users(users(n), total, &args)
}

#[test]
fn users_default_to_ten_a_page_with_page_numbers_as_cursors() {
    let p1 = user_page(25, 25, PageArgs::default());
    assert_eq!(ids(&p1.items), id_range(0, 10));
    assert_eq!(
        p1.page_info,
        PageInfo {
            current_page: Some(1),
            total_page: Some(3),
            has_next_page: true,
            has_previous_page: false,
            start_cursor: None,
            end_cursor: Some("1".into()),
        }
    );
    let p2 = user_page(25, 25, cursor_args(None, None, Some("1"), None));
    assert_eq!(ids(&p2.items), id_range(10, 20));
    assert_eq!(p2.page_info.start_cursor.as_deref(), Some("0"));
    assert_eq!(p2.page_info.end_cursor.as_deref(), Some("2"));
    assert!(p2.page_info.has_previous_page);
    assert_eq!(p2.page_info.current_page, Some(2));
    let p3 = user_page(25, 25, cursor_args(None, None, Some("2"), None));
    assert_eq!(ids(&p3.items), id_range(20, 25));
    assert!(!p3.page_info.has_next_page);
    assert_eq!(p3.page_info.end_cursor, None);
    assert_eq!(p3.page_info.current_page, Some(3));
}

#[test]
fn users_page_argument_is_one_based_and_sized_by_first() {
    let p = user_page(
        25,
        25,
        PageArgs {
            page: Some(2),
            first: Some(5),
            ..PageArgs::default()
        },
    );
    assert_eq!(ids(&p.items), id_range(5, 10));
    assert_eq!(p.page_info.current_page, Some(2));
    assert_eq!(p.page_info.total_page, Some(5));
    assert_eq!(p.page_info.start_cursor.as_deref(), Some("0"));
    assert_eq!(p.page_info.end_cursor.as_deref(), Some("2"));
    // page 1 is the first page.
    let p = user_page(25, 25, page_no(1));
    assert_eq!(ids(&p.items), id_range(0, 10));
    assert!(!p.page_info.has_previous_page);
}

#[test]
fn users_last_sizes_the_page_when_first_is_absent_or_zero() {
    let p = user_page(25, 25, cursor_args(None, Some(4), None, None));
    assert_eq!(ids(&p.items), id_range(0, 4));
    let p = user_page(25, 25, cursor_args(Some(0), Some(4), None, None));
    assert_eq!(ids(&p.items), id_range(0, 4));
    // `first: 0` alone is `NaN` in PrimeHub, so the default 10.
    let p = user_page(25, 25, cursor_args(Some(0), None, None, None));
    assert_eq!(p.items.len(), 10);
    // `last: 0` is a limit of 0: an empty page without page numbers.
    let p = user_page(25, 25, cursor_args(None, Some(0), None, None));
    assert!(p.items.is_empty());
    assert_eq!(p.page_info, PageInfo::default());
}

#[test]
fn users_cursors_parse_like_parse_int() {
    let p = user_page(25, 25, cursor_args(Some(5), None, Some(" 2px"), None));
    assert_eq!(ids(&p.items), id_range(10, 15));
    // `before` is used when `after` is absent or empty.
    let p = user_page(25, 25, cursor_args(Some(5), None, Some(""), Some("3")));
    assert_eq!(ids(&p.items), id_range(15, 20));
    // Not a number: the first page.
    let p = user_page(25, 25, cursor_args(Some(5), None, Some("r03"), None));
    assert_eq!(ids(&p.items), id_range(0, 5));
    assert_eq!(list::js_parse_int("-3"), Some(-3));
    assert_eq!(list::js_parse_int("0x10"), Some(0));
    assert_eq!(list::js_parse_int("+"), None);
    assert_eq!(list::js_parse_int(""), None);
}

#[test]
fn users_total_page_counts_the_whole_realm() {
    // PrimeHub divides Keycloak's users/count (all users), not the matching ones.
    let p = user_page(3, 25, PageArgs::default());
    assert_eq!(p.items.len(), 3);
    assert!(!p.page_info.has_next_page);
    assert_eq!(p.page_info.total_page, Some(3));
    assert_eq!(
        user_page(0, 0, PageArgs::default()).page_info.total_page,
        Some(0)
    );
}

#[test]
fn users_page_zero_is_index_minus_one() {
    // `page: 0` gives index -1: Keycloak ignores the negative offset, the cursors say -2 / 0.
    let p = user_page(25, 25, page_no(0));
    assert_eq!(ids(&p.items), id_range(0, 10));
    assert_eq!(p.page_info.current_page, Some(0));
    assert_eq!(p.page_info.start_cursor.as_deref(), Some("-2"));
    assert_eq!(p.page_info.end_cursor.as_deref(), Some("0"));
    assert!(p.page_info.has_previous_page);
}

#[test]
fn user_by_id_returns_the_user_alone() {
    let found = user_by_id(Some(json!({"id": "u1"})), &PageArgs::default());
    assert_eq!(ids(&found.items), ["u1"]);
    assert_eq!(
        found.page_info,
        PageInfo {
            start_cursor: Some("u1".into()),
            end_cursor: Some("u1".into()),
            ..PageInfo::default()
        }
    );
    let missing = user_by_id(None::<Value>, &PageArgs::default());
    assert!(missing.items.is_empty());
    // The limit of 0 is checked first.
    let zero = user_by_id(
        Some(json!({"id": "u1"})),
        &cursor_args(None, Some(0), None, None),
    );
    assert!(zero.items.is_empty());
}

// ----- properties -----

fn prop_rows(n: usize) -> Vec<Value> {
    numbered_rows(n)
}

proptest! {
    #[test]
    fn numbered_pages_cover_every_row_once(n in 0usize..70) {
        let all = prop_rows(n);
        let first = paginate(all.clone(), &page_no(1));
        let total = first.page_info.total_page.unwrap_or(0);
        prop_assert_eq!(total as usize, n.div_ceil(ITEMS_PER_PAGE).max(1));
        let mut seen = Vec::new();
        for p in 1..=total {
            let page = paginate(all.clone(), &page_no(p));
            prop_assert!(page.items.len() <= ITEMS_PER_PAGE);
            prop_assert_eq!(page.page_info.has_next_page, p < total);
            seen.extend(page.items);
        }
        prop_assert_eq!(seen, all);
    }

    #[test]
    fn walking_forwards_with_first_and_after_covers_every_row_once(n in 0usize..40, k in 1i32..12) {
        let all = prop_rows(n);
        let mut seen: Vec<Value> = Vec::new();
        let mut args = cursor_args(Some(k), None, None, None);
        for _ in 0..=n {
            let page = paginate(all.clone(), &args);
            let remaining = n - seen.len();
            prop_assert_eq!(page.items.len(), remaining.min(k as usize));
            seen.extend(page.items);
            if !page.page_info.has_next_page {
                break;
            }
            args.after = page.page_info.end_cursor;
        }
        prop_assert_eq!(seen, all);
    }

    #[test]
    fn walking_backwards_with_last_and_before_covers_every_row_once(n in 0usize..40, k in 1i32..12) {
        let all = prop_rows(n);
        let mut pages: Vec<Vec<Value>> = Vec::new();
        let mut args = cursor_args(None, Some(k), None, None);
        for _ in 0..=n {
            let page = paginate(all.clone(), &args);
            prop_assert!(page.items.len() <= k as usize);
            let more = page.page_info.has_previous_page;
            args.before = page.page_info.start_cursor.clone();
            pages.push(page.items);
            if !more {
                break;
            }
        }
        let seen: Vec<Value> = pages.into_iter().rev().flatten().collect();
        prop_assert_eq!(seen, all);
    }

    #[test]
    fn first_and_last_bound_a_contiguous_page(
        n in 0usize..30,
        first in proptest::option::of(-2i32..35),
        last in proptest::option::of(-2i32..35),
        after in proptest::option::of(0usize..32),
        before in proptest::option::of(0usize..32),
    ) {
        let all = prop_rows(n);
        let args = cursor_args(
            first,
            last,
            after.map(|i| format!("r{i:02}")).as_deref(),
            before.map(|i| format!("r{i:02}")).as_deref(),
        );
        let page = paginate(all.clone(), &args);
        if let Some(f) = first {
            prop_assert!(page.items.len() <= usize::try_from(f).unwrap_or(0));
        }
        if let Some(l) = last {
            prop_assert!(page.items.len() <= usize::try_from(l).unwrap_or(0));
        }
        // A contiguous run of the rows, in order.
        if let Some(head) = page.items.first() {
            let start = all.iter().position(|r| r == head).expect("a row of the list");
            prop_assert_eq!(&all[start..start + page.items.len()], page.items.as_slice());
        }
        prop_assert_eq!(page.page_info.start_cursor.as_deref(), page.items.first().map(Listable::id));
        prop_assert_eq!(page.page_info.end_cursor.as_deref(), page.items.last().map(Listable::id));
    }

    #[test]
    fn walking_users_forwards_covers_every_user_once(n in 0usize..40, k in 1i32..12) {
        let all = users(n);
        let mut seen: Vec<Value> = Vec::new();
        let mut args = cursor_args(Some(k), None, None, None);
        for _ in 0..=n {
            let page = paginate_users(all.clone(), n, &args);
            prop_assert!(page.items.len() <= k as usize);
            seen.extend(page.items);
            if !page.page_info.has_next_page {
                break;
            }
            args.after = page.page_info.end_cursor;
        }
        prop_assert_eq!(seen, all);
    }

    #[test]
    fn filter_without_where_is_the_identity(values in proptest::collection::vec(any_field(), 0..20)) {
        let items = with_ids(values);
        prop_assert_eq!(filter(items.clone(), None, &["v"]), items.clone());
        prop_assert_eq!(filter(items.clone(), Some(&Map::new()), &["v"]), items);
    }

    #[test]
    fn filter_keeps_a_subsequence_of_matching_rows(
        values in proptest::collection::vec(any_field(), 0..20),
        needle in "[a-c]{0,2}",
    ) {
        let items = with_ids(values);
        let w = where_(json!({"v_contains": needle}));
        let kept = filter(items.clone(), Some(&w), &[]);
        let mut rest = items.iter();
        for row in &kept {
            prop_assert!(rest.any(|r| r == row), "kept rows keep their order");
            prop_assert!(list::matches(row, &w, &[]));
        }
        prop_assert_eq!(
            kept.len(),
            items.iter().filter(|r| list::matches(*r, &w, &[])).count()
        );
    }

    #[test]
    fn order_is_a_sorted_stable_permutation(
        values in proptest::collection::vec(any_field(), 0..30),
        descending in any::<bool>(),
    ) {
        let items = with_ids(values);
        let mut sorted = items.clone();
        let direction = if descending { "desc" } else { "asc" };
        order(&mut sorted, [("v", json!(direction))]).expect("valid");
        let mut before: Vec<&str> = ids(&items);
        let mut after: Vec<&str> = ids(&sorted);
        before.sort_unstable();
        after.sort_unstable();
        prop_assert_eq!(before, after);
        for pair in sorted.windows(2) {
            let a = pair[0].sort_key("v");
            let b = pair[1].sort_key("v");
            let cmp = list::compare_sort_keys(&a, &b);
            let cmp = if descending { cmp.reverse() } else { cmp };
            prop_assert!(cmp != std::cmp::Ordering::Greater, "sorted");
            if cmp == std::cmp::Ordering::Equal {
                prop_assert!(pair[0].id() < pair[1].id(), "ties keep their order");
            }
        }
    }
}

fn any_field() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        (-5.0f64..5.0).prop_map(Value::from),
        "[a-cA-C]{0,3}".prop_map(Value::from),
    ]
}

/// Rows `r00`, `r01`, … (ids in list order) with field `v`.
fn with_ids(values: Vec<Value>) -> Vec<Value> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"id": format!("r{i:02}"), "v": v}))
        .collect()
}

struct PageInfoQuery;

#[async_graphql::Object]
impl PageInfoQuery {
    async fn page_info(&self) -> PageInfo {
        paginate(numbered_rows(25), &page_no(2)).page_info
    }
}

#[tokio::test]
async fn page_info_has_primehubs_shape_and_nullability() {
    let schema = async_graphql::Schema::new(
        PageInfoQuery,
        async_graphql::EmptyMutation,
        async_graphql::EmptySubscription,
    );
    let sdl = schema.sdl();
    for field in [
        "currentPage: Int\n",
        "totalPage: Int\n",
        "hasNextPage: Boolean!\n",
        "hasPreviousPage: Boolean!\n",
        "startCursor: String\n",
        "endCursor: String\n",
    ] {
        assert!(sdl.contains(field), "PageInfo lacks `{field}` in:\n{sdl}");
    }
    let response = schema
        .execute("{ pageInfo { currentPage totalPage hasNextPage hasPreviousPage startCursor endCursor } }")
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        response.data.into_json().expect("json"),
        json!({"pageInfo": {
            "currentPage": 2, "totalPage": 3, "hasNextPage": true, "hasPreviousPage": true,
            "startCursor": null, "endCursor": null
        }})
    );
}
