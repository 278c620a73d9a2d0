/*
 * config: the appliance configuration model (DESIGN.md section 5) and its JSON form.
 *
 * The model is a plain data structure owned by the control core: it is loaded and
 * validated from JSON, dumped back to JSON, and turned into dataplane snapshots by
 * the control side. It is deliberately not opaque: every consumer reads it, nobody
 * but config.c builds it. Addresses are network byte order (see addr.h).
 *
 * Validation errors name the field path and the reason, for example
 *   virtual_services[2].ports[3]: 70000 is not a port
 * and the whole load fails: a config is either entirely valid or rejected.
 */
#ifndef LBD_CONFIG_H
#define LBD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define CFG_LABEL_MAX 64    /* labels, names, cookie names: at most 63 chars */
#define CFG_PATH_MAX 256    /* file and socket paths: at most 255 chars */
#define CFG_CIPHERS_MAX 512
#define CFG_HTTP_PATH_MAX 256
#define CFG_MAX_INTERFACES 16
#define CFG_MAX_ROUTES 256
#define CFG_MAX_VS 256
#define CFG_MAX_VS_PORTS 64   /* distinct ports per virtual service, after range expansion */
#define CFG_MAX_RS 256        /* real servers per virtual service */
#define CFG_HTTP_HEADER_BYTES_DEFAULT 16384
#define CFG_HTTP_HEADER_BYTES_MAX 65536
#define CFG_HTTP_REQUEST_TIMEOUT_MS_DEFAULT 10000

enum cfg_proto { CFG_PROTO_TCP = 0, CFG_PROTO_UDP };
enum cfg_mode { CFG_MODE_TCP = 0, CFG_MODE_HTTP };
enum cfg_forwarding { CFG_FWD_NAT = 0 };
enum cfg_sched { CFG_SCHED_WLC = 0, CFG_SCHED_WRR, CFG_SCHED_SH, CFG_SCHED_MAGLEV };
enum cfg_persist_type { CFG_PERSIST_NONE = 0, CFG_PERSIST_SOURCE_IP, CFG_PERSIST_HTTP_COOKIE };
enum cfg_check_type { CFG_CHECK_NONE = 0, CFG_CHECK_CONNECT, CFG_CHECK_PING, CFG_CHECK_HTTP };
enum cfg_rs_state { CFG_RS_ONLINE = 0, CFG_RS_DRAIN, CFG_RS_HALT };

#define CFG_MBUFS_PER_WORKER_MIN 4096
#define CFG_MBUFS_PER_WORKER_MAX 16777216

struct cfg_appliance {
    char name[CFG_LABEL_MAX];        /* default "lbd" */
    char api_socket[CFG_PATH_MAX];   /* default "/run/lbd/<name>.sock" */
    uint32_t idle_sleep_us;          /* 0 = busy poll (default) */
    uint32_t mbufs_per_worker;       /* 0 = computed from what holds mbufs (default) */
    char log_level[8];               /* "err" | "warn" | "info" (default) | "debug" */
};

struct cfg_interface {
    uint16_t port;                   /* DPDK port id */
    uint32_t ip;                     /* self IP */
    uint8_t prefix_len;
    uint32_t gateway;                /* 0 = none */
    uint16_t queues;                 /* rx/tx queue pairs; 0 = one per worker */
};

/* interfaces[].queues: at most this many queue pairs a port (rx queue q is polled by
 * worker q mod workers). */
#define CFG_PORT_QUEUES_MAX 16

struct cfg_route {
    uint32_t prefix;                 /* network address (host bits must be zero) */
    uint8_t len;
    uint32_t via;                    /* next hop, on a connected interface subnet */
};

struct cfg_routing {
    bool forward;                    /* default false */
    struct cfg_route *routes;
    size_t n_routes;
};

/* TCP congestion control of the stack's connections (dataplane/tcp/tcp_cc.h). */
enum cfg_cc { CFG_CC_CUBIC = 0, CFG_CC_NEWRENO };

/* layer7.rcvbuf_init / rcvbuf_max: the TCP receive buffer of a Layer 7 connection, where
 * it starts and how far auto-tuning may grow it (dataplane/tcp/tcp_rcvbuf.h). */
#define CFG_RCVBUF_INIT 65536u
#define CFG_RCVBUF_MAX_DEFAULT (4u * 1024 * 1024)
#define CFG_RCVBUF_LO 4096u
#define CFG_RCVBUF_HI (256u * 1024 * 1024)
/* layer7.sndbuf_init / sndbuf_max: the TCP send buffer, the same way
 * (dataplane/tcp/tcp_sndbuf.h; the same range as the receive buffer's). */
#define CFG_SNDBUF_INIT (256u * 1024)
#define CFG_SNDBUF_MAX_DEFAULT (4u * 1024 * 1024)

struct cfg_layer7 {
    uint32_t connect_timeout_ms;     /* default 4000 */
    uint32_t client_timeout_s;       /* default 1200 */
    uint32_t server_timeout_s;       /* default 1200 */
    uint32_t congestion_control;     /* enum cfg_cc; default cubic */
    uint32_t rcvbuf_init;            /* bytes; default CFG_RCVBUF_INIT, <= rcvbuf_max */
    uint32_t rcvbuf_max;             /* bytes; default CFG_RCVBUF_MAX_DEFAULT */
    uint32_t sndbuf_init;            /* bytes; default CFG_SNDBUF_INIT, <= sndbuf_max */
    uint32_t sndbuf_max;             /* bytes; default CFG_SNDBUF_MAX_DEFAULT */
    uint32_t max_conns_per_worker;   /* TCP control blocks per worker; default 32768 */
    uint32_t max_time_wait_per_worker;  /* TIME_WAIT entries per worker; 0 (null) =
                                           4 x max_conns_per_worker */
    bool tso;                        /* the TCP stack may send TSO frames where every port
                                        offers TCP segmentation; default true (a config
                                        built by hand, zeroed: false) */
};

/*
 * "layer4": Layer 4 NAT connection timeouts and table size (optional top-level
 * object; every field optional). config.c fills the defaults; the dataplane also
 * reads 0 as the default, for configs built by hand.
 */
/* layer4.syn_proxy: when lbd answers a client's SYN to a Layer 4 TCP service with a SYN
 * cookie itself and opens the connection to the real server only after a valid ACK
 * (dataplane/l4/synproxy.h). */
enum cfg_syn_proxy {
    CFG_SYN_PROXY_FLOOD = 0,            /* beyond max_half_open_per_worker (default) */
    CFG_SYN_PROXY_OFF,                  /* never: a SYN beyond the cap is dropped */
    CFG_SYN_PROXY_ALWAYS,               /* every SYN */
};

struct cfg_layer4 {
    uint32_t tcp_handshake_timeout_s;   /* SYN seen, no answer yet; default 30 */
    uint32_t tcp_established_timeout_s; /* both directions seen; default 900 */
    uint32_t tcp_closing_timeout_s;     /* FIN or RST seen; default 30 */
    uint32_t udp_timeout_s;             /* default 300 */
    uint32_t max_conns_per_worker;      /* connection table size; default 262144 */
    uint32_t max_half_open_per_worker;  /* TCP entries before the handshake completes;
                                           0 = a quarter of max_conns_per_worker */
    bool tcp_midstream;                 /* a TCP packet without SYN may create an entry
                                           (carried as established); default false */
    enum cfg_syn_proxy syn_proxy;       /* SYN cookies for Layer 4 TCP services */
};

#define CFG_L4_TCP_HANDSHAKE_TIMEOUT_S 30
#define CFG_L4_TCP_ESTABLISHED_TIMEOUT_S 900
#define CFG_L4_TCP_CLOSING_TIMEOUT_S 30
#define CFG_L4_UDP_TIMEOUT_S 300
#define CFG_L4_MAX_CONNS_PER_WORKER 262144
#define CFG_L7_MAX_CONNS_PER_WORKER 32768     /* TCP control blocks (layer7) */

struct cfg_persistence {
    enum cfg_persist_type type;      /* default none */
    uint32_t timeout_s;              /* source_ip; default 1200 */
    char cookie[CFG_LABEL_MAX];      /* http_cookie; default "SERVERID" */
    uint32_t max_idle_s;             /* http_cookie; 0 = null (no limit) */
    uint32_t max_life_s;             /* http_cookie; 0 = null (no limit) */
};

struct cfg_health_check {
    enum cfg_check_type type;        /* default connect */
    uint16_t port;                   /* 0 = the real server's port */
    uint32_t interval_ms;            /* default 2000 */
    uint32_t timeout_ms;             /* default 1000; must be <= interval */
    uint16_t rise;                   /* default 2 */
    uint16_t fall;                   /* default 3 */
    char http_path[CFG_HTTP_PATH_MAX]; /* http; default "/" */
    uint16_t http_expect;            /* http; default 200 */
};

/* TLS on a layer 7 service (see doc/configuration.md, "tls"). */
#define CFG_TLS_MAX_SNI 8            /* certificates chosen by the client's SNI */
#define CFG_TLS_NAME_MAX 256         /* a DNS name (real server SNI) */

enum cfg_tls_version { CFG_TLS_1_0 = 0, CFG_TLS_1_1, CFG_TLS_1_2, CFG_TLS_1_3 };

/* One certificate with its key: PEM (cert, key) or PKCS#12 (pfx, password file). */
struct cfg_tls_cert {
    char cert[CFG_PATH_MAX];         /* PEM (a PFX here is recognised too) */
    char key[CFG_PATH_MAX];          /* PEM; empty = in the cert file */
    char pfx[CFG_PATH_MAX];          /* PKCS#12 */
    char pfx_password_file[CFG_PATH_MAX];   /* must be mode 0600 */
};

struct cfg_tls {
    bool enabled;
    char cert[CFG_PATH_MAX];         /* the default certificate: PEM or PFX */
    char key[CFG_PATH_MAX];          /* optional with PFX */
    char pfx[CFG_PATH_MAX];
    char pfx_password_file[CFG_PATH_MAX];
    char ciphers[CFG_CIPHERS_MAX];   /* OpenSSL cipher list (TLS <= 1.2); empty = default */
    char ciphersuites[CFG_CIPHERS_MAX]; /* TLS 1.3 suites; empty = library default */
    enum cfg_tls_version min_version;   /* default 1.2 */
    struct cfg_tls_cert sni[CFG_TLS_MAX_SNI];   /* "sni_certs": picked by name */
    size_t n_sni;
};

struct tls_svc;                      /* dataplane/proxy/tls_ctx.h */
struct tls_backend;

struct cfg_real_server {
    char label[CFG_LABEL_MAX];
    uint32_t ip;
    uint16_t port;                   /* 0 = JSON null: the port the client used */
    uint32_t weight;                 /* 0..65535, default 100 */
    uint32_t min_conns;              /* 0 only: any other value is refused (no queue) */
    uint32_t max_conns;              /* 0 = no limit */
    enum cfg_rs_state state;         /* default online */
    bool tls;                        /* re-encrypt to this server (layer 7) */
    bool tls_verify;                 /* verify its certificate against tls_ca */
    char tls_ca[CFG_PATH_MAX];       /* PEM CA bundle; empty = the system's */
    char tls_sni[CFG_TLS_NAME_MAX];  /* SNI sent and name verified; empty = none */
    /* Run time, not in the JSON: set by the control core (control/reconfig.c). */
    uint32_t id;                     /* unique for the daemon's life, never reused */
    uint16_t slot;                   /* index of its counters within the service */
    bool health_down;                /* failed its health check (control/health.c) */
    struct tls_backend *tls_ctx;     /* with tls: its client context (control/tls_load.c) */
};

struct cfg_vs {
    char label[CFG_LABEL_MAX];       /* unique across the config */
    uint32_t ip;
    uint16_t ports[CFG_MAX_VS_PORTS];/* sorted ascending, unique */
    size_t n_ports;
    enum cfg_proto protocol;         /* default tcp */
    uint8_t layer;                   /* 4 or 7, required */
    enum cfg_mode mode;              /* layer 7 only; default tcp */
    enum cfg_forwarding forwarding;  /* layer 4 only; default nat */
    enum cfg_sched scheduler;        /* default wlc */
    struct cfg_persistence persistence;
    struct cfg_health_check health_check;
    uint32_t source_address;         /* layer 7 SNAT source; default the VIP */
    struct cfg_tls tls;              /* layer 7 only */
    /* Layer 7 HTTP mode only: */
    uint32_t max_header_bytes;       /* request or response header block; default 16384 */
    uint32_t http_request_timeout_ms;/* whole request header block; default 10000 */
    bool x_forwarded_for;            /* add X-Forwarded-For; default true */
    bool log;                        /* traffic log: a line per connection (TCP mode,
                                        layer 4) or request (HTTP mode); default true
                                        for layer 7, false for layer 4 */
    struct cfg_real_server *real_servers;
    size_t n_real_servers;
    /* Run time, not in the JSON: set by the control core (control/reconfig.c). */
    uint16_t slot;                   /* index of its counters, < CFG_MAX_VS */
    struct tls_svc *tls_ctx;         /* with tls: its contexts (control/tls_load.c) */
};

#define CFG_MAX_FLOATING_IPS 16
#define CFG_MAX_HA_MONITOR 8

struct cfg_ha {
    bool enabled;                    /* true when the "ha" object is present */
    uint32_t peer;
    uint8_t priority;                /* 1..254, default 100 */
    uint32_t advert_interval_ms;     /* default 1000 */
    bool preempt;                    /* default true */
    char auth_key_file[CFG_PATH_MAX];
    uint8_t vrid;                    /* 1..255, default 1 */
    uint32_t preempt_delay_ms;       /* 0..3600000, default 0 */
    uint32_t floating_ips[CFG_MAX_FLOATING_IPS]; /* move with the master (network order) */
    size_t n_floating_ips;
    /* Monitored neighbours (gateways): pinged every monitor_interval_ms from our self
     * IP; monitor_fall unanswered in a row put the unit in fault (control/ha_monitor.c) */
    uint32_t monitor[CFG_MAX_HA_MONITOR]; /* network order */
    size_t n_monitor;
    uint32_t monitor_interval_ms;    /* 100..60000, default 1000 */
    uint16_t monitor_fall;           /* 1..100, default 3 */
};

/*
 * "management": the management HTTP server (Prometheus /metrics, the status page) on
 * the control core, on a kernel socket (never a dataplane port). Optional top-level
 * object: absent, there is no server; present (even empty), it listens.
 */
struct cfg_management {
    bool enabled;                    /* true when the "management" object is present */
    uint32_t address;                /* default 127.0.0.1; 0 = every host address */
    uint16_t port;                   /* default 9100 */
    uint32_t max_clients;            /* connections at once; default 16 */
    uint32_t timeout_s;              /* an idle connection is closed; default 10 */
    bool tls;                        /* true when "tls" is given: HTTPS only */
    char tls_cert[CFG_PATH_MAX];     /* PEM certificate (chain) */
    char tls_key[CFG_PATH_MAX];      /* PEM private key */
    char users_file[CFG_PATH_MAX];   /* "" = no actions; else the logins (needs tls) */
};

/*
 * "logging": where the traffic log's lines go (common/txlog.h) besides the tail that
 * the API serves. Optional top-level object.
 */
enum cfg_log_facility {
    CFG_LOG_LOCAL0 = 0, CFG_LOG_LOCAL1, CFG_LOG_LOCAL2, CFG_LOG_LOCAL3, CFG_LOG_LOCAL4,
    CFG_LOG_LOCAL5, CFG_LOG_LOCAL6, CFG_LOG_LOCAL7, CFG_LOG_USER, CFG_LOG_DAEMON,
};

struct cfg_logging {
    bool syslog;                     /* send traffic log lines to syslog; default true */
    enum cfg_log_facility facility;  /* default local0 */
    char syslog_socket[CFG_PATH_MAX];/* the host's syslog socket; default /dev/log */
};

/* "local0".. "local7", "user", "daemon". */
const char *cfg_log_facility_name(enum cfg_log_facility f);

#define CFG_MGMT_PORT 9100
#define CFG_MGMT_MAX_CLIENTS 16
#define CFG_MGMT_TIMEOUT_S 10

struct lbd_config {
    struct cfg_appliance appliance;
    struct cfg_interface *interfaces;
    size_t n_interfaces;
    struct cfg_routing routing;
    struct cfg_layer7 layer7;
    struct cfg_layer4 layer4;
    struct cfg_vs *virtual_services;
    size_t n_virtual_services;
    struct cfg_ha ha;
    struct cfg_management management;
    struct cfg_logging logging;
    /* Run time, not in the JSON: set by the control core (control/reconfig.c) once
     * for the daemon's life and carried over by every reconfig: the key of the
     * HTTP persistence cookies' server ids. */
    uint8_t cookie_key[16];
};

/*
 * Builds a config from parsed JSON. On success *out is a new config the caller frees
 * with config_free(); on failure returns LBD_EINVAL (or LBD_ENOMEM), *out is untouched
 * and err holds "<field path>: <reason>".
 */
int config_from_json(const cJSON *root, struct lbd_config **out, char *err, size_t errlen);

/* Same, from JSON text. Syntax errors report the line and column. */
int config_parse(const char *text, struct lbd_config **out, char *err, size_t errlen);

/* Same, from a file; the message starts with the file name. */
int config_load_file(const char *path, struct lbd_config **out, char *err, size_t errlen);

/*
 * The whole config as JSON, every default made explicit, in the schema's own shape:
 * config_from_json(config_to_json(c)) yields an equal config. NULL on allocation failure.
 */
cJSON *config_to_json(const struct lbd_config *cfg);

void config_free(struct lbd_config *cfg);

/* Look-ups by label; NULL when absent. */
const struct cfg_vs *config_find_vs(const struct lbd_config *cfg, const char *label);

/* Names used in the JSON form, for messages and tables. */
const char *cfg_proto_name(enum cfg_proto p);
const char *cfg_sched_name(enum cfg_sched s);
const char *cfg_tls_version_name(enum cfg_tls_version v);
const char *cfg_persist_name(enum cfg_persist_type t);
const char *cfg_check_name(enum cfg_check_type t);
const char *cfg_rs_state_name(enum cfg_rs_state s);

#endif
