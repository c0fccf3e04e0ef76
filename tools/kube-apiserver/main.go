// Command kube-apiserver is a real Kubernetes API server (k8s.io/kubernetes,
// cmd/kube-apiserver/app) with an etcd server embedded in the same process
// (go.etcd.io/etcd/server/v3/embed), for tests, in the way envtest runs one:
// no kubelet, scheduler or controller-manager.
//
// Usage:
//
//	kube-apiserver [--embedded-etcd-dir=DIR] [kube-apiserver flags...]
//	    Starts etcd on free loopback ports (data in DIR, or in a fresh temp
//	    dir that is removed on exit), then runs the API server with the
//	    remaining flags plus --etcd-servers=<embedded etcd> (unless given).
//	kube-apiserver gen-sa-key DIR
//	    Writes DIR/sa.key (RSA private key, PKCS#1 PEM) and DIR/sa.pub
//	    (PKIX public key PEM) for --service-account-{signing-,}key-file.
//	kube-apiserver version
//	    Prints the Kubernetes and etcd versions compiled in.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "time/tzdata" // for timeZone support in CronJob, as upstream main does

	"go.etcd.io/etcd/api/v3/version"
	"go.etcd.io/etcd/server/v3/embed"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kversion "k8s.io/component-base/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "gen-sa-key":
			if len(os.Args) != 3 {
				fatalf("usage: %s gen-sa-key DIR", os.Args[0])
			}
			if err := genSAKey(os.Args[2]); err != nil {
				fatalf("gen-sa-key: %v", err)
			}
			return
		case "version":
			fmt.Printf("kubernetes %s\netcd %s\n", kversion.Get().GitVersion, version.Version)
			return
		}
	}
	os.Exit(run(os.Args[1:]))
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func run(args []string) int {
	etcdDir := ""
	var rest []string
	haveEtcdServers := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--embedded-etcd-dir="):
			etcdDir = strings.TrimPrefix(a, "--embedded-etcd-dir=")
		case a == "--embedded-etcd-dir" && i+1 < len(args):
			etcdDir = args[i+1]
			i++
		default:
			if strings.HasPrefix(a, "--etcd-servers") {
				haveEtcdServers = true
			}
			rest = append(rest, a)
		}
	}

	if !haveEtcdServers {
		removeDir := false
		if etcdDir == "" {
			d, err := os.MkdirTemp("", "embedded-etcd-")
			if err != nil {
				fatalf("embedded etcd: %v", err)
			}
			etcdDir, removeDir = d, true
		}
		e, clientURL, err := startEtcd(etcdDir)
		if err != nil {
			if removeDir {
				os.RemoveAll(etcdDir)
			}
			fatalf("embedded etcd: %v", err)
		}
		fmt.Fprintf(os.Stderr, "embedded etcd %s ready at %s (data %s)\n", version.Version, clientURL, etcdDir)
		go func() {
			if err, ok := <-e.Err(); ok && err != nil {
				fatalf("embedded etcd failed: %v", err)
			}
		}()
		defer func() {
			e.Close()
			if removeDir {
				os.RemoveAll(etcdDir)
			}
			fmt.Fprintln(os.Stderr, "embedded etcd stopped")
		}()
		rest = append([]string{"--etcd-servers=" + clientURL}, rest...)
	}

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(rest)
	return cli.Run(cmd)
}

// freePort asks the kernel for a free loopback port. There is a small race
// between closing the probe listener and etcd binding it; fine for tests.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startEtcd(dir string) (*embed.Etcd, string, error) {
	cport, err := freePort()
	if err != nil {
		return nil, "", err
	}
	pport, err := freePort()
	if err != nil {
		return nil, "", err
	}
	curl, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", cport))
	purl, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", pport))

	cfg := embed.NewConfig()
	cfg.Name = "embedded"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*curl}
	cfg.AdvertiseClientUrls = []url.URL{*curl}
	cfg.ListenPeerUrls = []url.URL{*purl}
	cfg.AdvertisePeerUrls = []url.URL{*purl}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// A throwaway test store: no fsync, and compaction like envtest's etcd.
	cfg.UnsafeNoFsync = true
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, "", fmt.Errorf("not ready after 60s")
	}
	return e, curl.String(), nil
}

func genSAKey(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}
