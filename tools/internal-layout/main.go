// Command internal-layout writes the layout of kube-apiserver's internal Go structs that
// k8s.io/apimachinery/pkg/util/diff.Diff renders (json.MarshalIndent of core.PodSpec,
// core.PersistentVolumeClaimSpec, …), so the fake cluster (primehub-reconcile/src/fake/godiff.rs)
// can render the same text from the v1 JSON it stores. See README.md.
//
//	go run . layout            > layout.json      # the layout (update.sh gzips it into the crate)
//	go run . fixtures <cases.json >expected.json  # diff.Diff of v1 JSON pairs: the test oracle
//	go run . difflib  >difflib.json               # go-difflib's unified diffs of random texts
package main

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubernetes/pkg/apis/core"
	corev1conv "k8s.io/kubernetes/pkg/apis/core/v1"
)

// Kubernetes is the version of k8s.io/kubernetes this module builds against (go.mod).
const Kubernetes = "v1.37.2"

// roots: the internal structs Diff renders, with their v1 counterparts.
var roots = []struct {
	name     string
	internal reflect.Type
	v1       reflect.Type
}{
	{"PodSpec", reflect.TypeOf(core.PodSpec{}), reflect.TypeOf(corev1.PodSpec{})},
	{"PersistentVolumeClaimSpec", reflect.TypeOf(core.PersistentVolumeClaimSpec{}), reflect.TypeOf(corev1.PersistentVolumeClaimSpec{})},
	{"PersistentVolumeSource", reflect.TypeOf(core.PersistentVolumeSource{}), reflect.TypeOf(corev1.PersistentVolumeSource{})},
}

// Types with their own MarshalJSON, by package path and name: the layout names them.
var marshalers = map[string]string{
	"k8s.io/apimachinery/pkg/api/resource.Quantity":   "Quantity",
	"k8s.io/apimachinery/pkg/apis/meta/v1.Time":       "Time",
	"k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime":  "MicroTime",
	"k8s.io/apimachinery/pkg/apis/meta/v1.Duration":   "Duration",
	"k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1":   "FieldsV1",
	"k8s.io/apimachinery/pkg/util/intstr.IntOrString": "IntOrString",
}

var (
	jsonMarshaler = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// flatField is a field as encoding/json sees it: embedded structs flattened, tags applied.
type flatField struct {
	goName    string
	goPath    []string
	key       string
	omitEmpty bool
	omitZero  bool
	tagged    bool
	typ       reflect.Type
	index     []int
}

// flatten follows encoding/json's typeFields: the fields of embedded (anonymous, untagged)
// structs are promoted; of several fields with one name the shallowest wins, a tagged one
// among equals, and a tie drops them all; the order is the order of the index sequences.
func flatten(t reflect.Type) []flatField {
	var all []flatField
	var walk func(t reflect.Type, index []int, path []string)
	walk = func(t reflect.Type, index []int, path []string) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			idx := append(append([]int{}, index...), i)
			goPath := append(append([]string{}, path...), sf.Name)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if !sf.IsExported() && et.Kind() != reflect.Struct {
					continue
				}
				if name == "" && et.Kind() == reflect.Struct {
					if ft.Kind() == reflect.Pointer {
						fail("%s embeds the pointer %s: its fields vanish when nil", t, ft)
					}
					walk(et, idx, goPath)
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			key := name
			if key == "" {
				key = sf.Name
			}
			omit, zero := false, false
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "omitempty":
					omit = true
				case "omitzero":
					zero = true
				case "", "inline":
				default:
					fail("%s.%s: json option %q not handled", t, sf.Name, o)
				}
			}
			all = append(all, flatField{sf.Name, goPath, key, omit, zero, name != "", ft, idx})
		}
	}
	walk(t, nil, nil)
	byKey := map[string][]flatField{}
	for _, f := range all {
		byKey[f.key] = append(byKey[f.key], f)
	}
	var out []flatField
	for _, fs := range byKey {
		depth := len(fs[0].index)
		for _, f := range fs {
			if len(f.index) < depth {
				depth = len(f.index)
			}
		}
		var dominant []flatField
		for _, f := range fs {
			if len(f.index) == depth {
				dominant = append(dominant, f)
			}
		}
		if len(dominant) > 1 {
			var tagged []flatField
			for _, f := range dominant {
				if f.tagged {
					tagged = append(tagged, f)
				}
			}
			dominant = tagged
		}
		if len(dominant) == 1 {
			out = append(out, dominant[0])
		} else {
			fmt.Fprintf(os.Stderr, "note: %s: field %q is ambiguous, encoding/json drops it\n", t, fs[0].key)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].index, out[j].index
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	return out
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "internal-layout: "+format+"\n", args...)
	os.Exit(1)
}

type layout struct {
	Kubernetes string `json:"kubernetes"`
	// Roots: the name of a root → its struct's layout name.
	Roots map[string]string `json:"roots"`
	// Structs: layout name → fields in encoding/json's order, each
	// [key Marshal prints, key of the v1 JSON it comes from ("metadata.name": a path), type, flags: omitempty 1 | omitzero 2].
	Structs map[string][][]any `json:"structs"`
}

type generator struct {
	out   layout
	names map[string]string // layout name → package path, to catch collisions
}

func structName(t reflect.Type) string {
	pkg := t.PkgPath()
	short := pkg[strings.LastIndex(pkg, "/")+1:]
	if short == "v1" && strings.HasPrefix(pkg, "k8s.io/apimachinery/") {
		short = "metav1"
	}
	return short + "." + t.Name()
}

// typeName names t in the layout, describing the structs it reaches; v1 is the type of the
// v1 field the value comes from (the same shape).
func (g *generator) typeName(t, v1 reflect.Type, where string) string {
	if t.Kind() == reflect.Pointer && v1.Kind() == reflect.Pointer {
		return "*" + g.typeName(t.Elem(), v1.Elem(), where)
	}
	if name, ok := marshalers[t.PkgPath()+"."+t.Name()]; ok {
		if t != v1 {
			fail("%s: %s ≠ v1 %s", where, t, v1)
		}
		return name
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		fail("%s: %s has its own marshaler, not handled", where, t)
	}
	if t.Kind() != v1.Kind() {
		fail("%s: internal %s (%s) vs v1 %s (%s)", where, t, t.Kind(), v1, v1.Kind())
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "bytes"
		}
		return "[]" + g.typeName(t.Elem(), v1.Elem(), where+"[]")
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			fail("%s: map key %s", where, t.Key())
		}
		return "map[string]" + g.typeName(t.Elem(), v1.Elem(), where+"{}")
	case reflect.Struct:
		name := structName(t)
		if pkg, seen := g.names[name]; seen {
			if pkg != t.PkgPath() {
				fail("%s: %s names %s and %s", where, name, pkg, t.PkgPath())
			}
			return name
		}
		g.names[name] = t.PkgPath()
		g.out.Structs[name] = nil
		v1Fields := map[string]flatField{}
		for _, f := range flatten(v1) {
			v1Fields[f.goName] = f
		}
		var fields [][]any
		embedded := map[string]bool{}
		for _, f := range flatten(t) {
			vf, ok := v1Fields[f.goName]
			v1Key := vf.key
			if !ok {
				// A struct embedded in the internal type and named in v1 (core.PersistentVolumeClaimTemplate
				// embeds metav1.ObjectMeta; v1 has it as "metadata"): the v1 path goes through it.
				outer, found := v1Fields[f.goPath[0]]
				if !found || len(f.goPath) != 2 || outer.typ.Kind() != reflect.Struct {
					fail("%s.%s: no v1 field of that name in %s", name, strings.Join(f.goPath, "."), v1)
				}
				for _, inner := range flatten(outer.typ) {
					if inner.goName == f.goName {
						vf, ok = inner, true
						v1Key = outer.key + "." + inner.key
					}
				}
				if !ok {
					fail("%s.%s: not in v1 %s", name, strings.Join(f.goPath, "."), outer.typ)
				}
				embedded[f.goPath[0]] = true
			}
			omit := 0
			if f.omitEmpty {
				omit |= 1
			}
			if f.omitZero {
				omit |= 2
			}
			typ := g.typeName(f.typ, vf.typ, name+"."+f.goName)
			fields = append(fields, []any{f.key, v1Key, typ, omit})
			delete(v1Fields, f.goName)
		}
		for goName := range v1Fields {
			if embedded[goName] {
				continue
			}
			fail("%s: v1 field %s has no internal counterpart", name, goName)
		}
		g.out.Structs[name] = fields
		return name
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32:
		return "float32"
	case reflect.Float64:
		return "float64"
	}
	fail("%s: kind %s not handled", where, t.Kind())
	return ""
}

func writeLayout() {
	g := generator{
		out:   layout{Kubernetes: Kubernetes, Roots: map[string]string{}, Structs: map[string][][]any{}},
		names: map[string]string{},
	}
	for _, r := range roots {
		g.out.Roots[r.name] = g.typeName(r.internal, r.v1, r.name)
	}
	emit(g.out)
}

func emit(v any) {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		fail("%v", err)
	}
	os.Stdout.Write(append(b, '\n'))
}

// A fixture case: two v1 JSON values of a root; the answer adds Diff's text.
type fixture struct {
	Name string          `json:"name"`
	Root string          `json:"root"`
	Old  json.RawMessage `json:"old"`
	New  json.RawMessage `json:"new"`
	Diff string          `json:"diff"`
}

func internal(root string, raw json.RawMessage) any {
	switch root {
	case "PodSpec":
		var in corev1.PodSpec
		var out core.PodSpec
		must(json.Unmarshal(raw, &in))
		must(corev1conv.Convert_v1_PodSpec_To_core_PodSpec(&in, &out, nil))
		return out
	case "PersistentVolumeClaimSpec":
		var in corev1.PersistentVolumeClaimSpec
		var out core.PersistentVolumeClaimSpec
		must(json.Unmarshal(raw, &in))
		must(corev1conv.Convert_v1_PersistentVolumeClaimSpec_To_core_PersistentVolumeClaimSpec(&in, &out, nil))
		return out
	case "PersistentVolumeSource":
		// v1 inlines the source in the PV spec: decode the spec, convert, take the source.
		var in corev1.PersistentVolumeSpec
		var out core.PersistentVolumeSpec
		must(json.Unmarshal(raw, &in))
		must(corev1conv.Convert_v1_PersistentVolumeSpec_To_core_PersistentVolumeSpec(&in, &out, nil))
		return out.PersistentVolumeSource
	}
	fail("unknown root %q", root)
	return nil
}

func must(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func writeFixtures() {
	var cases []fixture
	must(json.NewDecoder(os.Stdin).Decode(&cases))
	for i := range cases {
		cases[i].Diff = diff.Diff(internal(cases[i].Root, cases[i].Old), internal(cases[i].Root, cases[i].New))
	}
	emit(cases)
}

// A difflib case: two texts and go-difflib's unified diff of their lines (Context 3), as
// diff.Diff makes it.
type difflibCase struct {
	A    string `json:"a"`
	B    string `json:"b"`
	Diff string `json:"diff"`
}

// writeDifflib writes go-difflib's answers for pseudo-random texts (a fixed seed): short ones
// over a small alphabet (many equal lines, several hunks), and long ones (≥ 200 lines, where
// the autojunk heuristic drops popular lines).
func writeDifflib() {
	r := rand.New(rand.NewPCG(10, 37))
	text := func(n, alphabet int) []string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = fmt.Sprintf("l%d", r.IntN(alphabet))
		}
		return lines
	}
	mutate := func(a []string, edits, alphabet int) []string {
		b := append([]string{}, a...)
		for e := 0; e < edits; e++ {
			i := 0
			if len(b) > 0 {
				i = r.IntN(len(b) + 1)
			}
			switch r.IntN(3) {
			case 0:
				b = append(b[:i], append([]string{fmt.Sprintf("l%d", r.IntN(alphabet))}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default:
				if i < len(b) {
					b[i] = fmt.Sprintf("l%d", r.IntN(alphabet))
				}
			}
		}
		return b
	}
	var cases []difflibCase
	add := func(a, b []string) {
		as, bs := strings.Join(a, "\n"), strings.Join(b, "\n")
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(as), B: difflib.SplitLines(bs), Context: 3})
		must(err)
		cases = append(cases, difflibCase{as, bs, d})
	}
	for i := 0; i < 120; i++ {
		alphabet := 2 + r.IntN(12)
		a := text(r.IntN(40), alphabet)
		add(a, mutate(a, 1+r.IntN(6), alphabet))
	}
	for i := 0; i < 20; i++ {
		alphabet := 3 + r.IntN(60)
		a := text(180+r.IntN(200), alphabet)
		add(a, mutate(a, 1+r.IntN(12), alphabet))
	}
	for i := 0; i < 10; i++ {
		add(text(r.IntN(30), 5), text(r.IntN(30), 5))
	}
	emit(cases)
}

// Keep the imports of the marshaler types honest (they name the layout's special types).
var _ = []any{resource.Quantity{}, metav1.Time{}, intstr.IntOrString{}}

func main() {
	if len(os.Args) != 2 {
		fail("usage: internal-layout layout|fixtures|difflib")
	}
	switch os.Args[1] {
	case "layout":
		writeLayout()
	case "fixtures":
		writeFixtures()
	case "difflib":
		writeDifflib()
	default:
		fail("usage: internal-layout layout|fixtures|difflib")
	}
}
