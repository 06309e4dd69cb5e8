use mlua::{Lua, Value as LuaValue};
use serde_json::{Value, json};

use super::*;

/// A Lua state with the array marker registered, as the host makes it.
fn lua() -> Lua {
    let lua = Lua::new();
    let mt = lua.create_table().unwrap();
    lua.set_named_registry_value(ARRAY_MT, &mt).unwrap();
    lua
}

fn eval(lua: &Lua, code: &str) -> LuaValue {
    lua.load(code).eval().unwrap()
}

fn meter() -> Meter<'static> {
    Meter::new(64 << 20, None)
}

/// `levels` arrays one inside the other around `1`.
fn nested_arrays(levels: usize) -> Value {
    (0..levels).fold(json!(1), |v, _| json!([v]))
}

/// `levels` objects one inside the other around `1`.
fn nested_objects(levels: usize) -> Value {
    (0..levels).fold(json!(1), |v, _| json!({ "k": v }))
}

/// Lua code for a table chain of `levels` around `1`: `{{...{1}...}}`.
fn lua_chain(levels: usize) -> String {
    format!("{}1{}", "{".repeat(levels), "}".repeat(levels))
}

#[test]
fn the_meter_allows_exactly_its_limit() {
    let mut m = Meter::new(100, None);
    m.charge(100 - OVERHEAD)
        .expect("a charge equal to what is left fits");
    assert!(m.charge(0).is_err(), "nothing is left");
    let mut m = Meter::new(100, None);
    assert!(m.charge(101 - OVERHEAD).is_err());
}

#[test]
fn to_lua_converts_values_down_to_the_deepest_level_and_no_deeper() {
    let lua = lua();
    for nest in [nested_arrays as fn(usize) -> Value, nested_objects] {
        let deepest = nest(MAX_DEPTH);
        let v = to_lua(&lua, &deepest).expect("a value at the deepest level converts");
        assert_eq!(from_lua(&lua, &v, None, &mut meter()).unwrap(), deepest);
        assert!(to_lua(&lua, &nest(MAX_DEPTH + 1)).is_err());
    }
}

#[test]
fn numbers_keep_their_type_and_out_of_range_integers_are_refused() {
    let lua = lua();
    assert!(matches!(
        to_lua(&lua, &json!(7)).unwrap(),
        LuaValue::Integer(7)
    ));
    assert!(matches!(to_lua(&lua, &json!(1.5)).unwrap(), LuaValue::Number(f) if f == 1.5));
    let big: Value = serde_json::from_str("18446744073709551615").unwrap();
    let e = to_lua(&lua, &big).unwrap_err().to_string();
    assert!(e.contains("does not fit a Lua integer"), "{e}");
}

#[test]
fn null_is_the_null_sentinel_and_no_other_pointer() {
    let lua = lua();
    assert_eq!(
        from_lua(&lua, &LuaValue::NULL, None, &mut meter()).unwrap(),
        Value::Null
    );
    let other = LuaValue::LightUserData(mlua::LightUserData(8 as *mut _));
    assert!(from_lua(&lua, &other, None, &mut meter()).is_err());
    assert_eq!(
        changes(&lua, &LuaValue::Nil, &Value::Null, &mut meter()).unwrap(),
        None
    );
    assert_eq!(
        changes(&lua, &LuaValue::NULL, &Value::Null, &mut meter()).unwrap(),
        None
    );
    assert_eq!(
        changes(&lua, &other, &Value::Null, &mut meter()).map_err(|_| ()),
        Err(())
    );
}

#[test]
fn from_lua_converts_tables_down_to_the_deepest_level_and_no_deeper() {
    let lua = lua();
    let deepest = eval(&lua, &lua_chain(MAX_DEPTH));
    assert_eq!(
        from_lua(&lua, &deepest, None, &mut meter()).unwrap(),
        nested_arrays(MAX_DEPTH)
    );
    let deeper = eval(&lua, &lua_chain(MAX_DEPTH + 1));
    assert!(from_lua(&lua, &deeper, None, &mut meter()).is_err());
    let objects = eval(
        &lua,
        &format!("{}1{}", "{k=".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH)),
    );
    assert_eq!(
        from_lua(&lua, &objects, None, &mut meter()).unwrap(),
        nested_objects(MAX_DEPTH)
    );
    let objects = eval(
        &lua,
        &format!(
            "{}1{}",
            "{k=".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        ),
    );
    assert!(from_lua(&lua, &objects, None, &mut meter()).is_err());
}

#[test]
fn changes_sees_a_different_number_of_the_same_type() {
    let lua = lua();
    let m = &mut meter();
    assert_eq!(
        changes(&lua, &LuaValue::Integer(2), &json!(3), m).unwrap(),
        Some(json!(2))
    );
    assert_eq!(
        changes(&lua, &LuaValue::Integer(3), &json!(3), m).unwrap(),
        None
    );
    assert_eq!(
        changes(&lua, &LuaValue::Integer(3), &json!(3.0), m).unwrap(),
        Some(json!(3))
    );
    assert_eq!(
        changes(&lua, &LuaValue::Number(2.5), &json!(1.5), m).unwrap(),
        Some(json!(2.5))
    );
    assert_eq!(
        changes(&lua, &LuaValue::Number(1.5), &json!(1.5), m).unwrap(),
        None
    );
}

#[test]
fn an_object_where_an_array_was_and_an_array_where_an_object_was() {
    let lua = lua();
    let m = &mut meter();
    // A script replaced an array with an object.
    let obj = eval(&lua, "{a = 1}");
    assert_eq!(
        changes(&lua, &obj, &json!([1, 2]), m).unwrap(),
        Some(json!({"a": 1}))
    );
    // A script marked an empty table as an array where an object was.
    let marked = lua.create_table().unwrap();
    marked.set_metatable(Some(array_mt(&lua).unwrap())).unwrap();
    let marked = LuaValue::Table(marked);
    assert_eq!(
        changes(&lua, &marked, &json!({}), m).unwrap(),
        Some(json!([]))
    );
    // Every key of an object removed: still an object.
    let empty = eval(&lua, "{}");
    assert_eq!(
        changes(&lua, &empty, &json!({"a": 1}), m).unwrap(),
        Some(json!({}))
    );
    // Every element of an array removed: still an array.
    assert_eq!(
        changes(&lua, &empty, &json!([1]), m).unwrap(),
        Some(json!([]))
    );
}

#[test]
fn new_and_changed_values_are_bounded_by_their_depth_in_the_document() {
    let lua = lua();
    // A value at depth 1 (an element, a key's value) can nest MAX_DEPTH - 1 more levels.
    let fits = lua_chain(MAX_DEPTH - 1);
    let deep = lua_chain(MAX_DEPTH);
    for (code, original) in [
        (format!("{{ {fits} }}"), json!([])),
        (format!("{{ {fits} }}"), json!([0])),
        (format!("{{ k = {fits} }}"), json!({})),
        (format!("{{ k = {fits} }}"), json!({"k": 0})),
    ] {
        let v = eval(&lua, &code);
        assert!(
            changes(&lua, &v, &original, &mut meter())
                .unwrap()
                .is_some(),
            "{code}"
        );
        let built = from_lua(&lua, &v, Some(&original), &mut meter());
        assert!(built.is_ok(), "{code}");
    }
    for (code, original) in [
        (format!("{{ {deep} }}"), json!([])),
        (format!("{{ {deep} }}"), json!([0])),
        (format!("{{ k = {deep} }}"), json!({})),
        (format!("{{ k = {deep} }}"), json!({"k": 0})),
    ] {
        let v = eval(&lua, &code);
        assert!(
            changes(&lua, &v, &original, &mut meter()).is_err(),
            "{code}"
        );
        assert!(
            from_lua(&lua, &v, Some(&original), &mut meter()).is_err(),
            "{code}"
        );
    }
}

#[test]
fn elements_keep_the_key_order_of_the_element_they_replace() {
    let lua = lua();
    let original = json!([{"b": 1, "a": 2}, {"d": 1, "c": 2}]);
    let v = eval(&lua, "{ {a = 2, b = 1, z = 0}, {c = 2, d = 1} }");
    let got = from_lua(&lua, &v, Some(&original), &mut meter()).unwrap();
    assert_eq!(
        serde_json::to_string(&got).unwrap(),
        r#"[{"b":1,"a":2,"z":0},{"d":1,"c":2}]"#
    );
}

#[test]
fn decode_builds_every_json_type() {
    let lua = lua();
    let v = decode(
        &lua,
        br#"{"t": true, "f": false, "n": null, "s": "x", "i": 3, "neg": -4, "x": 1.5, "a": [10, 20, 30]}"#,
    )
    .unwrap();
    let LuaValue::Table(t) = v else {
        panic!("a table")
    };
    assert!(t.get::<bool>("t").unwrap());
    assert!(!t.get::<bool>("f").unwrap());
    assert!(matches!(t.get::<LuaValue>("n").unwrap(), LuaValue::LightUserData(p) if p.0.is_null()));
    assert_eq!(t.get::<String>("s").unwrap(), "x");
    assert!(matches!(
        t.get::<LuaValue>("i").unwrap(),
        LuaValue::Integer(3)
    ));
    assert!(matches!(
        t.get::<LuaValue>("neg").unwrap(),
        LuaValue::Integer(-4)
    ));
    assert!(matches!(t.get::<LuaValue>("x").unwrap(), LuaValue::Number(f) if f == 1.5));
    let a: mlua::Table = t.get("a").unwrap();
    assert_eq!(a.raw_len(), 3);
    assert_eq!(a.get::<i64>(1).unwrap(), 10);
    assert_eq!(a.get::<i64>(3).unwrap(), 30);
    assert!(
        a.metatable()
            .is_some_and(|mt| mt == array_mt(&lua).unwrap())
    );
    assert!(decode(&lua, b"123456789012345678901234").is_err());
    assert!(decode(&lua, b"18446744073709551615").is_err());
    assert!(decode(&lua, b"1e400").is_err());
}

#[test]
fn decode_refuses_documents_deeper_than_the_limit() {
    let lua = lua();
    let text = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    // serde_json's recursion limit: 127 levels decode, 128 do not.
    let v = decode(&lua, text(MAX_DEPTH - 1).as_bytes()).unwrap();
    assert_eq!(
        from_lua(&lua, &v, None, &mut meter()).unwrap(),
        nested_arrays(MAX_DEPTH - 1)
    );
    let e = decode(&lua, text(MAX_DEPTH).as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("recursion limit"), "{e}");
}

#[test]
fn a_key_the_json_reader_reserves_is_refused_new_or_in_a_changed_object() {
    let lua = lua();
    for key in [
        "$serde_json::private::Number",
        "$serde_json::private::RawValue",
    ] {
        // A new object holding it.
        let t = eval(&lua, &format!("return {{ x = {{ [{key:?}] = 'abc' }} }}"));
        let e = from_lua(&lua, &t, None, &mut meter()).unwrap_err();
        assert!(e.to_string().contains(key), "{e}");
        // Added to an object the document had.
        let t = eval(&lua, &format!("return {{ a = 1, [{key:?}] = 5 }}"));
        let e = changes(&lua, &t, &json!({"a": 1}), &mut meter()).unwrap_err();
        assert!(e.to_string().contains(key), "{e}");
    }
    // A key that only looks like it is fine.
    let t = eval(&lua, "return { ['serde_json::private::Number'] = 1 }");
    assert!(from_lua(&lua, &t, None, &mut meter()).is_ok());
}
