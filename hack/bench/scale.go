package main

// The -scale mode measures what a build spends inside the frontend on a
// large report, without BuildKit: reading a synthetic Trivy report, planning
// it against a synthetic Debian package set, the summary and the VEX
// request, in a child process per run so that its peak memory (max RSS,
// from getrusage) is the work's alone. The VEX document itself is written
// by a build step of the helper (frontend.HelperWriteVEX); its own child
// measures that step's command on the files the frontend's child sent.
//
//	go run ./hack/bench -scale 1000,10000,100000,1000000 -runs 5
//
// Each report entry is a distinct vulnerability of one of 2,500 packages
// (2,000 installed), padded with a Title and Description to about 400
// bytes, the size of a real Trivy entry without CVSS and references, so
// 100,000 entries are a 40 MB report. A report of more than 100,000
// entries is over the parser's bounds (and a 1,000,000-entry one over
// MaxSize), so for those the child skips the report and plans the same
// findings built in memory: the planning, summary and VEX cost of that
// many entries, had they been allowed.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"google.golang.org/protobuf/proto"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/frontend"
	"github.com/copa/frontend/frontend/report"
	"github.com/copa/frontend/frontend/summary"
	"github.com/copa/frontend/frontend/vex"
)

var (
	scaleSizes = flag.String("scale", "", "measure the frontend's in-process cost on synthetic reports of these entry counts (comma-separated), without BuildKit")
	scaleChild = flag.String("scale-child", "", "internal: run one -scale measurement on this report (\"-\": findings built in memory)")
	scaleN     = flag.Int("scale-n", 0, "internal: entries of the -scale-child measurement")
	scaleKeep  = flag.String("scale-keep", "", "with -scale: write the synthetic reports to this directory and keep them")
	scaleRead  = flag.Bool("scale-read-only", false, "internal: stop the -scale-child measurement after reading the report")
	scaleProf  = flag.String("scale-profile", "", "with -scale-child: write CPU and allocation profiles to this directory")
	// The VEX document is written by a build step of the helper
	// (frontend.HelperWriteVEX), not by the frontend: measured apart.
	scaleStepDir = flag.String("scale-step-dir", "", "internal: with -scale-child, leave the VEX step's input here; alone, run the VEX step on it")
)

const (
	scalePackages  = 2500 // named by the report
	scaleInstalled = 2000 // of them, installed
)

// scaleTimes is what a child reports, in seconds per stage.
type scaleTimes struct {
	Read, Parse, Plan, Summary, VEX, Total float64
	Statements, Updates                    int
	ReportBytes, SummaryBytes, VEXBytes    int64
}

// runScale runs the -scale mode or a child of it; it reports whether it
// did, so main does nothing else.
func runScale(runs int) bool {
	switch {
	case *scaleChild != "":
		scaleMeasure(*scaleChild, *scaleN)
		return true
	case *scaleStepDir != "":
		scaleVEXStep(*scaleStepDir)
		return true
	case *scaleSizes != "":
		scaleBench(*scaleSizes, runs)
		return true
	}
	return false
}

func scaleBench(sizes string, runs int) {
	dir := *scaleKeep
	if dir == "" {
		dir = must(os.MkdirTemp("", "copa-scale"))
		defer os.RemoveAll(dir)
	}
	self := must(os.Executable())
	fmt.Printf("| entries | report | read+parse | plan | summary + VEX request | frontend time | CPU | peak RSS, reading | peak RSS, all | RSS / report (reading / all) | VEX step | VEX step peak RSS |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range strings.Split(sizes, ",") {
		n := must(strconv.Atoi(strings.TrimSpace(s)))
		path := "-"
		if n <= 100000 {
			path = filepath.Join(dir, fmt.Sprintf("report-%d.json", n))
			writeSyntheticReport(path, n)
		}
		var ts []scaleTimes
		var rss, readRSS []int64
		var cpu, stepTime []float64
		var stepRSS []int64
		for range runs {
			if path != "-" {
				// The reading alone, for the bound on a report's copies.
				cmd := exec.Command(self, "-scale-child", path, "-scale-n", strconv.Itoa(n), "-scale-read-only")
				cmd.Stderr = os.Stderr
				if _, err := cmd.Output(); err != nil {
					fail(fmt.Errorf("scale child for %d entries: %w", n, err))
				}
				readRSS = append(readRSS, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss<<10)
			}
			stepDir := must(os.MkdirTemp(dir, "step"))
			cmd := exec.Command(self, "-scale-child", path, "-scale-n", strconv.Itoa(n), "-scale-step-dir", stepDir)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				fail(fmt.Errorf("scale child for %d entries: %w", n, err))
			}
			var t scaleTimes
			if err := json.Unmarshal(out, &t); err != nil {
				fail(err)
			}
			ts = append(ts, t)
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			rss = append(rss, ru.Maxrss<<10) // KiB on Linux
			// CPU time too: on a loaded machine wall time mostly waits.
			cpu = append(cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds())

			step := exec.Command(self, "-scale-step-dir", stepDir)
			step.Stderr = os.Stderr
			out, err = step.Output()
			if err != nil {
				fail(fmt.Errorf("VEX step for %d entries: %w", n, err))
			}
			var st scaleTimes
			if err := json.Unmarshal(out, &st); err != nil {
				fail(err)
			}
			stepTime = append(stepTime, st.VEX)
			stepRSS = append(stepRSS, step.ProcessState.SysUsage().(*syscall.Rusage).Maxrss<<10)
			ts[len(ts)-1].VEXBytes = st.VEXBytes
			must(0, os.RemoveAll(stepDir))
		}
		med := func(f func(scaleTimes) float64) string {
			v := make([]float64, len(ts))
			for i, t := range ts {
				v[i] = f(t)
			}
			slices.Sort(v)
			return fmt.Sprintf("%.3f s", v[len(v)/2])
		}
		slices.Sort(rss)
		slices.Sort(readRSS)
		slices.Sort(cpu)
		peak := rss[len(rss)/2]
		size, ratio, readPeak := "(none, see text)", "–", "–"
		if b := ts[0].ReportBytes; b > 0 {
			r := readRSS[len(readRSS)/2]
			size, readPeak = mib(b), mib(r)
			ratio = fmt.Sprintf("%.2f× / %.2f×", float64(r)/float64(b), float64(peak)/float64(b))
		}
		slices.Sort(stepTime)
		slices.Sort(stepRSS)
		fmt.Printf("| %d | %s | %s | %s | %s | %s | %.3f s | %s | %s | %s | %.3f s | %s |\n", n, size,
			med(func(t scaleTimes) float64 { return t.Read + t.Parse }), med(func(t scaleTimes) float64 { return t.Plan }),
			med(func(t scaleTimes) float64 { return t.Summary }),
			med(func(t scaleTimes) float64 { return t.Total }), cpu[len(cpu)/2], readPeak, mib(peak), ratio,
			stepTime[len(stepTime)/2], mib(stepRSS[len(stepRSS)/2]))
		fmt.Fprintf(os.Stderr, "bench: %d entries: %d statements, %d updates, summary %s, VEX document %s\n", n, ts[0].Statements, ts[0].Updates, mib(ts[0].SummaryBytes), mib(ts[0].VEXBytes))
	}
}

// scaleMeasure is one child run; it prints its scaleTimes as JSON.
func scaleMeasure(path string, n int) {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(frontend.MemoryLimit) // as cmd/frontend does
	}
	if *scaleProf != "" {
		f := must(os.Create(filepath.Join(*scaleProf, "cpu.pprof")))
		must(0, pprof.StartCPUProfile(f))
		defer func() {
			pprof.StopCPUProfile()
			runtime.GC() // the profile counts what the last GC saw
			h := must(os.Create(filepath.Join(*scaleProf, "allocs.pprof")))
			must(0, pprof.Lookup("allocs").WriteTo(h, 0))
			h.Close()
		}()
	}
	var t scaleTimes
	start := time.Now()
	lap := func(d *float64) {
		now := time.Now()
		*d = now.Sub(start).Seconds()
		t.Total += *d
		start = now
	}
	v := deb.Versioning{}
	var findings []distros.Finding
	if path == "-" {
		findings = syntheticFindings(n)
		start = time.Now() // building them is not the frontend's work
	} else {
		// As the frontend does (frontend/reports.go, frontend/plan.go):
		// the whole report read, parsed, each finding converted and
		// validated; then the bytes are dropped.
		data := must(os.ReadFile(path))
		t.ReportBytes = int64(len(data))
		lap(&t.Read)
		rep := must(report.Parse(data))
		data = nil
		if *scaleRead {
			runtime.KeepAlive(rep)
			must(0, json.NewEncoder(os.Stdout).Encode(t))
			return
		}
		for _, f := range rep.Findings {
			df := distros.Finding{Package: f.Package, FixedVersions: f.FixedVersions(), VulnerabilityID: f.VulnerabilityID, Entry: path + " " + f.Entry}
			if err := df.Validate(v); err != nil {
				fail(err)
			}
			findings = append(findings, df)
		}
		lap(&t.Parse)
	}
	installed := syntheticInstalled()
	plan := distros.MakePlan(v, installed, findings)
	lap(&t.Plan)

	after := installed.Versions(v)
	for _, u := range plan.Updates {
		after[u.Name] = u.Fixed
	}
	osr := distros.OSRelease{ID: "debian", VersionID: "12"}
	s := summary.New(summary.Input{
		Image: "localhost:5000/copa-test/debian:12-stale", Platform: "linux/amd64",
		OS: summary.OS{ID: "debian", Version: "12", Manager: "apt"}, Reports: []string{"report.json"},
		Plan: plan, After: after, Versioning: v,
	})
	// The frontend writes summary.json.gz (compact JSON, gzipped) into
	// the steps' input, for the step that prints the table and the one
	// that writes the VEX document; both run the helper, in their steps,
	// so neither is counted here.
	var zb bytes.Buffer
	zw := must(gzip.NewWriterLevel(&zb, gzip.BestSpeed))
	must(0, json.NewEncoder(zw).Encode(s))
	must(0, zw.Close())
	sum := zb.Bytes()

	f, _, ok := all.Registry.ForOS(osr)
	if !ok {
		fail(fmt.Errorf("no format for %s", osr))
	}
	target := distros.PURLTarget{OS: osr, Platform: platforms.MustParse("linux/amd64")}
	opts := vex.Options{
		Product:   "pkg:oci/debian?repository_url=localhost:5000/copa-test/debian&tag=12-patched",
		Timestamp: time.Unix(1764028800, 0),
		PackageURL: func(name, version string) string {
			return f.PackageURL(target, distros.Package{Name: name, Version: version, Arch: "amd64"})
		},
	}
	// As frontend/outputs.go does: the request beside summary.json in
	// the steps' input, whose bytes the definition and the request hold.
	req, statements := must2(vex.NewRequest(s, opts))
	reqJSON := must(json.Marshal(req))
	sent := sendFiles(map[string][]byte{"summary.json.gz": sum, "vex-request.json": reqJSON})
	t.SummaryBytes, t.Statements, t.Updates = int64(len(sum)), statements, len(plan.Updates)
	lap(&t.Summary)
	if *scaleStepDir != "" {
		// For the VEX step's own measurement (not counted here).
		must(0, os.WriteFile(filepath.Join(*scaleStepDir, "summary.json.gz"), sum, 0o644))
		must(0, os.WriteFile(filepath.Join(*scaleStepDir, "vex-request.json"), reqJSON, 0o644))
	}
	_ = sent
	must(0, json.NewEncoder(os.Stdout).Encode(t))
}

// scaleVEXStep runs the helper command of the step that writes the VEX
// document, on the files a -scale-child left in dir; it prints the
// document's size and the time, as JSON.
func scaleVEXStep(dir string) {
	start := time.Now()
	var run func([]string) error
	for _, c := range frontend.HelperCommands() {
		if c.Name == frontend.HelperWriteVEX {
			run = c.Run
		}
	}
	out := filepath.Join(dir, "vex.json")
	must(0, run([]string{filepath.Join(dir, "summary.json.gz"), filepath.Join(dir, "vex-request.json"), out}))
	t := scaleTimes{VEX: time.Since(start).Seconds(), VEXBytes: must(os.Stat(out)).Size()}
	must(0, json.NewEncoder(os.Stdout).Encode(t))
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		fail(err)
	}
	return a, b
}

// sendFiles does with files what the frontend does with the steps' input
// (summary.json and the VEX request): a scratch state with the files
// (llb.Mkfile), its definition, and the gateway's solve request holding it,
// marshalled as gRPC sends it. Each holds a copy of the files while the
// request is sent.
func sendFiles(files map[string][]byte) int {
	var fa *llb.FileAction
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if fa == nil {
			fa = llb.Mkfile("/"+name, 0o644, files[name])
		} else {
			fa = fa.Mkfile("/"+name, 0o644, files[name])
		}
	}
	def := must(llb.Scratch().File(fa).Marshal(context.Background()))
	req := &gwpb.SolveRequest{Definition: def.ToPB()}
	return len(must(proto.Marshal(req)))
}

// scaleFinding is entry k's package, vulnerability and fixed version:
// every tenth has no fix, every tenth is already fixed, the rest are fixed
// in one of five newer revisions; packages past scaleInstalled are absent.
func scaleFinding(k int) (pkg, id, installed, fixed string) {
	pkg = fmt.Sprintf("pkg%04d", k%scalePackages)
	id = fmt.Sprintf("CVE-%d-%d", 2000+k%27, 1000+k)
	installed = "1.0-1"
	switch k % 10 {
	case 0:
	case 1:
		fixed = "0.9-1"
	default:
		fixed = fmt.Sprintf("1.0-%d", 2+k%5)
	}
	return
}

func syntheticInstalled() distros.Packages {
	ps := make(distros.Packages, scaleInstalled)
	for i := range ps {
		ps[i] = distros.Package{Name: fmt.Sprintf("pkg%04d", i), Arch: "amd64", Version: "1.0-1"}
	}
	return ps
}

func syntheticFindings(n int) []distros.Finding {
	fs := make([]distros.Finding, n)
	for k := range fs {
		pkg, id, _, fixed := scaleFinding(k)
		fs[k] = distros.Finding{Package: pkg, VulnerabilityID: id, Entry: fmt.Sprintf("report.json Results[0].Vulnerabilities[%d] (%s, %s)", k, id, pkg)}
		if fixed != "" {
			fs[k].FixedVersions = []string{fixed}
		}
	}
	return fs
}

// writeSyntheticReport writes a Trivy report of n entries (see the file
// comment) to path. It streams the file rather than building it in
// memory: the children start as vfork clones of this process, and Linux
// counts the parent's RSS at that moment in the child's max RSS.
func writeSyntheticReport(path string, n int) {
	f := must(os.Create(path))
	w := bufio.NewWriter(f)
	w.WriteString(`{"SchemaVersion":2,"ArtifactName":"localhost:5000/copa-test/debian:12-stale","ArtifactType":"container_image",` +
		`"Metadata":{"OS":{"Family":"debian","Name":"12.5"},"ImageConfig":{"architecture":"amd64"}},` +
		`"Results":[{"Target":"debian 12.5","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`)
	pad := strings.Repeat("lorem ipsum ", 20)
	for k := range n {
		if k > 0 {
			w.WriteByte(',')
		}
		pkg, id, installed, fixed := scaleFinding(k)
		fmt.Fprintf(w, "\n"+`{"VulnerabilityID":%q,"PkgName":%q,"InstalledVersion":%q,"FixedVersion":%q,"Status":"fixed","Severity":"HIGH",`+
			`"Title":"%s: synthetic entry %d","Description":%q}`, id, pkg, installed, fixed, pkg, k, pad)
	}
	w.WriteString("]}]}\n")
	must(0, w.Flush())
	must(0, f.Close())
}
