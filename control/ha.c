/*
 * ha: the HA pair on the control core (see ha.h).
 */
#include "ha.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "base/ctl_msg.h"
#include "err.h"
#include "ha_elect.h"
#include "ha_monitor.h"
#include "ha_proto.h"
#include "log.h"
#include "reconfig.h"

struct ha_counters {
    uint64_t adverts_tx;
    uint64_t adverts_rx;
    uint64_t rx_bad_mac;        /* wrong key or altered */
    uint64_t rx_replay;         /* counter not above the last accepted one */
    uint64_t rx_not_peer;       /* a sender field that is not the peer */
    uint64_t rx_malformed;      /* not ours, wrong size, bad body */
    uint64_t rx_wrong_vrid;
    uint64_t tx_failed;         /* no mbuf, or the worker's ring full */
    uint64_t sync_batches_tx;
    uint64_t sync_records_tx;
    uint64_t sync_bytes_tx;     /* IPv4 bytes of the sync datagrams sent (headers included) */
    uint64_t sync_records_unsent; /* not master, or no peer to send them to */
    uint64_t sync_batches_rx;
    uint64_t sync_records_rx;
    uint64_t sync_rx_as_master; /* batches a master received (split brain) and ignored */
    uint64_t sync_gaps;         /* a batch whose sequence number skipped one */
    uint64_t sync_install_full; /* records a worker's install ring refused */
    uint64_t bulk_started;
    uint64_t bulk_done;
    uint64_t bulk_received;     /* complete bulk resyncs received */
    uint64_t resync_tx;
    uint64_t resync_rx;
    uint64_t garp_rounds;
    uint64_t config_pushes;     /* replicated configs sent (whole) */
    uint64_t config_parts_tx;
    uint64_t config_parts_rx;
    uint64_t config_applied;    /* received and applied */
    uint64_t config_unchanged;  /* received, the same as ours */
    uint64_t config_rejected;   /* received, refused by the validator */
    uint64_t config_out_of_order; /* a part that did not follow the last one */
    uint64_t config_rx_as_master;
};

struct ha {
    struct ha_elect el;
    struct ha_monitor mon;          /* ha.monitor: the gateways pinged */
    struct ha_key key;
    struct ha_replay replay;
    uint32_t self_ip;
    uint8_t vrid;
    uint64_t counter;               /* start-up seconds << 32 | messages sent */
    enum ha_state published;        /* the ownership in the dataplane's snapshots */
    bool publish_pending;
    uint64_t fault_check_ms;
    unsigned garp_left;
    uint64_t garp_next_ms;
    /* master: the batch being filled, the bulk resync */
    struct ha_rec batch[HA_SYNC_MAX_RECS];
    unsigned batch_n;
    uint16_t batch_flags;
    uint32_t sync_seq_tx;
    bool peer_alive;
    bool bulk_pending;
    bool bulk_running;
    unsigned bulk_ends;             /* workers that finished their dump */
    uint64_t bulk_started_ms;
    /* backup: what was received */
    uint32_t sync_seq_rx;
    bool sync_rx_seen;
    uint64_t resync_ms;
    uint64_t last_sync_rx_ms;
    uint32_t peer_sync_rx;          /* the last batch the peer says it received */
    uint64_t sync_lost_seen;        /* the workers' l4.sync_ring_full, summed */
    struct {                        /* the last HA_HISTORY state changes */
        uint64_t at_ms;
        uint8_t from, to;
        const char *why;
    } hist[HA_HISTORY];
    unsigned hist_n;
    bool peer_ever;
    uint64_t last_advert_rx_ms;
    /* The kernel's view of each configured port's link, where the driver has none of
     * its own (af_packet reports its link up whatever the interface does): the
     * interface's operstate file, found by the port's MAC; "" = ask the driver. */
    char operstate[CFG_MAX_INTERFACES][96];
    /* master: the replicated config (the "virtual_services" JSON text) being pushed */
    const struct lbd_config *cfg_seen;
    char *cfg_text;
    size_t cfg_len;
    size_t cfg_off;
    uint32_t cfg_version;
    bool cfg_sending;
    bool cfg_push_pending;
    /* backup: the replicated config being received */
    char *cfg_in;
    uint32_t cfg_in_version;
    uint32_t cfg_in_total;
    uint32_t cfg_in_got;
    bool cfg_in_active;
    uint64_t cfg_applied_ms;
    struct ha_counters n;
};

/*
 * The operstate file of the kernel interface with the MAC of port p, for drivers that
 * sit on a kernel interface (af_packet): their own link state never goes down.
 */
static void ha_find_operstate(const struct dp_port *p, char *out, size_t len)
{
    char want[RTE_ETHER_ADDR_FMT_SIZE], path[300], buf[32];
    struct dirent *d;
    DIR *dir;

    out[0] = '\0';
    if (strstr(p->driver, "af_packet") == NULL || (dir = opendir("/sys/class/net")) == NULL)
        return;
    snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x", p->mac.addr_bytes[0],
             p->mac.addr_bytes[1], p->mac.addr_bytes[2], p->mac.addr_bytes[3],
             p->mac.addr_bytes[4], p->mac.addr_bytes[5]);
    while ((d = readdir(dir)) != NULL) {
        FILE *f;
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/sys/class/net/%s/address", d->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(buf, sizeof(buf), f) != NULL && strncmp(buf, want, strlen(want)) == 0)
            snprintf(out, len, "/sys/class/net/%.64s/operstate", d->d_name);
        fclose(f);
        if (out[0] != '\0')
            break;
    }
    closedir(dir);
}

static uint32_t ha_self_ip(const struct lbd_config *cfg)
{
    for (size_t i = 0; i < cfg->n_interfaces; i++)
        if (addr_in_prefix(cfg->ha.peer, cfg->interfaces[i].ip, cfg->interfaces[i].prefix_len))
            return cfg->interfaces[i].ip;
    return 0;
}

int ha_init(struct appliance *a, char *err, size_t errlen)
{
    const struct cfg_ha *c = &a->cfg->ha;
    struct ha_elect_cfg ec;
    struct ha *h;
    int rc;

    a->ha = NULL;
    if (!c->enabled)
        return 0;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "ha: out of memory");
    rc = ha_key_load(c->auth_key_file, &h->key, err, errlen);
    if (rc != 0) {
        free(h);
        return rc;
    }
    h->self_ip = ha_self_ip(a->cfg);
    h->vrid = c->vrid;
    h->counter = (uint64_t)time(NULL) << 32;
    ec = (struct ha_elect_cfg){
        .self_ip = h->self_ip, .peer_ip = c->peer, .priority = c->priority,
        .interval_ms = c->advert_interval_ms, .preempt = c->preempt,
        .preempt_delay_ms = c->preempt_delay_ms,
    };
    ha_elect_init(&h->el, &ec, appliance_now_ms());
    ha_monitor_init(&h->mon, c, a->dp->n_workers, appliance_now_ms());
    for (size_t i = 0; i < a->cfg->n_interfaces && i < CFG_MAX_INTERFACES; i++)
    {
        ha_find_operstate(&a->dp->ports[a->cfg->interfaces[i].port], h->operstate[i],
                          sizeof(h->operstate[i]));
        if (h->operstate[i][0] != '\0')
            LOG_INFO("ha", "port %u: link state from %s", a->cfg->interfaces[i].port,
                     h->operstate[i]);
    }
    h->published = HA_STATE_BACKUP;
    a->dp->ha_standby = true;
    a->dp->ha_sync = false;
    a->ha = h;
    a->ha_mon = &h->mon;
    LOG_INFO("ha", "HA pair: backup until the election (priority %u, adverts every %u ms, "
                   "master-down after %u ms)", c->priority, c->advert_interval_ms,
             ha_elect_master_down_ms(&h->el));
    return 0;
}

void ha_free(struct appliance *a)
{
    if (a->ha != NULL) {
        free(a->ha->cfg_text);
        free(a->ha->cfg_in);
        OPENSSL_cleanse(a->ha->key.bytes, sizeof(a->ha->key.bytes));
        a->ha_mon = NULL;
        free(a->ha);
        a->ha = NULL;
    }
}

/* An IPv4/UDP datagram from the self IP to the peer around msg (len bytes). */
static bool ha_send(struct appliance *a, const uint8_t *msg, size_t len)
{
    struct ha *h = a->ha;
    struct rte_mbuf *m = rte_pktmbuf_alloc(a->dp->ctl_pool);
    struct rte_ipv4_hdr *ip;
    struct rte_udp_hdr *udp;
    size_t total = sizeof(*ip) + sizeof(*udp) + len;

    if (m == NULL || len == 0) {
        rte_pktmbuf_free(m);
        h->n.tx_failed++;
        return false;
    }
    ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, (uint16_t)total);
    if (ip == NULL) {
        rte_pktmbuf_free(m);
        h->n.tx_failed++;
        return false;
    }
    udp = (struct rte_udp_hdr *)(ip + 1);
    memset(ip, 0, sizeof(*ip));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16((uint16_t)total);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 255;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = h->self_ip;
    ip->dst_addr = a->cfg->ha.peer;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    udp->src_port = rte_cpu_to_be_16(HA_UDP_PORT);
    udp->dst_port = rte_cpu_to_be_16(HA_UDP_PORT);
    udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
    udp->dgram_cksum = 0;
    memcpy(udp + 1, msg, len);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    m->ol_flags = 0;
    if (dp_ha_send(a->dp, m) != 0) {
        h->n.tx_failed++;
        return false;
    }
    return true;
}

static struct ha_hdr ha_next_hdr(struct ha *h)
{
    return (struct ha_hdr){.vrid = h->vrid, .sender = h->self_ip, .counter = ++h->counter};
}

static void ha_send_advert(struct appliance *a)
{
    struct ha *h = a->ha;
    struct ha_hdr hd = ha_next_hdr(h);
    struct ha_advert adv = {
        .priority = ha_elect_priority(&h->el),
        .state = (uint8_t)h->el.state,
        .interval_ms = h->el.cfg.interval_ms,
        .sync_tx = h->sync_seq_tx,
        .sync_rx = h->sync_seq_rx,
    };
    uint8_t buf[HA_ADVERT_LEN];

    ha_send(a, buf, ha_encode_advert(buf, sizeof(buf), &h->key, &hd, &adv));
    h->n.adverts_tx++;
}

static void ha_send_resync(struct appliance *a, uint64_t now)
{
    struct ha *h = a->ha;
    struct ha_hdr hd = ha_next_hdr(h);
    uint8_t buf[HA_HDR_LEN + HA_MAC_LEN];

    ha_send(a, buf, ha_encode_resync(buf, sizeof(buf), &h->key, &hd));
    h->resync_ms = now;
    h->n.resync_tx++;
}

static void ha_flush_batch(struct appliance *a)
{
    struct ha *h = a->ha;
    static uint8_t buf[HA_MSG_MAX];
    struct ha_hdr hd;
    struct ha_sync_hdr sh;
    size_t len;

    if (h->batch_n == 0 && h->batch_flags == 0)
        return;
    hd = ha_next_hdr(h);
    sh = (struct ha_sync_hdr){.seq = ++h->sync_seq_tx, .n = (uint16_t)h->batch_n,
                              .flags = h->batch_flags};
    len = ha_encode_sync(buf, sizeof(buf), &h->key, &hd, &sh, h->batch);
    if (ha_send(a, buf, len))
        h->n.sync_bytes_tx += len + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr);
    h->n.sync_batches_tx++;
    h->n.sync_records_tx += h->batch_n;
    h->batch_n = 0;
    h->batch_flags = 0;
}

static void ha_start_bulk(struct appliance *a, uint64_t now)
{
    struct ha *h = a->ha;
    struct ctl_msg msg = {.type = CTL_MSG_HA_BULK};

    ha_flush_batch(a);
    for (unsigned i = 0; i < a->dp->n_workers; i++)
        dp_send_to_worker(a->dp, i, &msg);
    h->bulk_pending = false;
    h->bulk_running = true;
    h->bulk_ends = 0;
    h->bulk_started_ms = now;
    h->batch_flags = HA_SYNC_F_BULK_START;
    h->n.bulk_started++;
    LOG_INFO("ha", "bulk resync to the peer started");
}

/* Master: the workers' records, batched to the peer (or counted when nobody listens). */
static void ha_sync_out(struct appliance *a, uint64_t now)
{
    struct ha *h = a->ha;
    struct ha_rec recs[240];
    bool sending = h->el.state == HA_STATE_MASTER && h->peer_alive;
    unsigned n, budget = 8, room = rte_ring_free_count(a->dp->ha_tx[0]);

    /* No more records than the datagrams the ring to worker 0 can take now (6 full
     * batches per step): what stays waits in the workers' ring for the next iteration
     * instead of being lost with a refused datagram. */
    if (sending)
        budget = room > 16 ? (room - 16) / 6 : 0;
    if (budget > 8)
        budget = 8;
    while (budget-- > 0 && (n = dp_sync_recv(a->dp, recs, RTE_DIM(recs))) > 0) {
        for (unsigned i = 0; i < n; i++) {
            if (recs[i].type == HA_REC_BULK_END) {
                if (h->bulk_running && ++h->bulk_ends == a->dp->n_workers) {
                    h->bulk_running = false;
                    h->n.bulk_done++;
                    if (sending) {
                        h->batch_flags |= HA_SYNC_F_BULK_END;
                        ha_flush_batch(a);
                    }
                    LOG_INFO("ha", "bulk resync to the peer done");
                }
                continue;
            }
            if (!sending) {
                h->n.sync_records_unsent++;
                continue;
            }
            h->batch[h->batch_n++] = recs[i];
            if (h->batch_n == HA_SYNC_MAX_RECS)
                ha_flush_batch(a);
        }
    }
    if (sending)
        ha_flush_batch(a);
    if (h->bulk_running && now - h->bulk_started_ms > HA_BULK_TIMEOUT_MS) {
        h->bulk_running = false;
        h->bulk_pending = true;
    }
}

static void ha_rx_sync(struct appliance *a, const uint8_t *body, size_t len, uint64_t now)
{
    struct ha *h = a->ha;
    struct ha_rec recs[HA_SYNC_MAX_RECS];
    struct ha_sync_hdr sh;

    if (!ha_decode_sync(body, len, &sh, recs)) {
        h->n.rx_malformed++;
        return;
    }
    if (h->el.state == HA_STATE_MASTER) {
        h->n.sync_rx_as_master++;
        return;
    }
    h->n.sync_batches_rx++;
    h->last_sync_rx_ms = now;
    if (!(sh.flags & HA_SYNC_F_BULK_START) && h->sync_rx_seen && sh.seq != h->sync_seq_rx + 1) {
        h->n.sync_gaps++;
        if (now - h->resync_ms >= 1000)
            ha_send_resync(a, now);
    }
    h->sync_rx_seen = true;
    h->sync_seq_rx = sh.seq;
    for (uint16_t i = 0; i < sh.n; i++) {
        h->n.sync_records_rx++;
        if (dp_sync_install(a->dp, &recs[i]) != 0)
            h->n.sync_install_full++;
    }
    if (sh.flags & HA_SYNC_F_BULK_END) {
        h->el.sync_ready = true;
        h->n.bulk_received++;
    }
}

/* The replicated part of cfg: its "virtual_services" as JSON text (malloc'd), or NULL. */
static char *ha_config_text(const struct lbd_config *cfg)
{
    cJSON *root = config_to_json(cfg);
    char *text = root != NULL ? cJSON_PrintUnformatted(
                                    cJSON_GetObjectItemCaseSensitive(root, "virtual_services"))
                              : NULL;

    cJSON_Delete(root);
    return text;
}

/* Master: notes a change of the running config's replicated part (a new version). */
static void ha_config_check(struct appliance *a)
{
    struct ha *h = a->ha;
    char *text;

    if (a->cfg == h->cfg_seen)
        return;
    h->cfg_seen = a->cfg;
    text = ha_config_text(a->cfg);
    if (text == NULL)
        return;
    if (h->cfg_text != NULL && strcmp(text, h->cfg_text) == 0) {
        free(text);
        return;
    }
    free(h->cfg_text);
    h->cfg_text = text;
    h->cfg_len = strlen(text);
    h->cfg_version++;
    h->cfg_push_pending = true;
    h->cfg_sending = false;         /* a push in progress starts again, this version */
}

/* Master: the next parts of the config being pushed, a few per iteration. */
static void ha_config_send(struct appliance *a)
{
    struct ha *h = a->ha;
    static uint8_t buf[HA_MSG_MAX];

    for (int i = 0; i < 32 && h->cfg_sending; i++) {
        struct ha_hdr hd = ha_next_hdr(h);
        struct ha_config_hdr ch = {.version = h->cfg_version, .total = (uint32_t)h->cfg_len,
                                   .offset = (uint32_t)h->cfg_off};
        size_t part = h->cfg_len - h->cfg_off;

        if (part > HA_CONFIG_CHUNK)
            part = HA_CONFIG_CHUNK;
        if (!ha_send(a, buf, ha_encode_config(buf, sizeof(buf), &h->key, &hd, &ch,
                                              h->cfg_text + h->cfg_off, part)))
            return;         /* the ring is full: the same part next iteration */
        h->n.config_parts_tx++;
        h->cfg_off += part;
        if (h->cfg_off == h->cfg_len) {
            h->cfg_sending = false;
            h->n.config_pushes++;
            LOG_INFO("ha", "config version %u (%zu bytes) pushed to the peer", h->cfg_version,
                     h->cfg_len);
        }
    }
}

/* Backup: the master's services replace ours; local settings stay. */
static void ha_config_apply(struct appliance *a, const char *text, size_t len)
{
    struct ha *h = a->ha;
    cJSON *vs = cJSON_ParseWithLength(text, len), *root;
    struct lbd_config *next = NULL;
    char err[512], *mine;
    int rc;

    if (!cJSON_IsArray(vs)) {
        cJSON_Delete(vs);
        h->n.config_rejected++;
        LOG_WARN("ha", "replicated config refused: not a JSON array of virtual services");
        return;
    }
    mine = ha_config_text(a->cfg);
    if (mine != NULL && strlen(mine) == len && memcmp(mine, text, len) == 0) {
        free(mine);
        cJSON_Delete(vs);
        h->n.config_unchanged++;
        return;
    }
    free(mine);
    root = config_to_json(a->cfg);
    if (root == NULL) {
        cJSON_Delete(vs);
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "virtual_services");
    cJSON_AddItemToObject(root, "virtual_services", vs);
    rc = config_from_json(root, &next, err, sizeof(err));
    cJSON_Delete(root);
    if (rc == 0) {
        rc = reconfig_apply(a, next, err, sizeof(err));
        if (rc != 0)
            config_free(next);
    }
    if (rc != 0) {
        h->n.config_rejected++;
        LOG_WARN("ha", "replicated config from the peer refused: %s", err);
        return;
    }
    h->n.config_applied++;
    h->cfg_applied_ms = appliance_now_ms();
    LOG_INFO("ha", "replicated config from the peer applied: %zu virtual services",
             a->cfg->n_virtual_services);
}

static void ha_rx_config(struct appliance *a, const uint8_t *body, size_t blen)
{
    struct ha *h = a->ha;
    struct ha_config_hdr ch;
    const char *part;
    size_t len;

    if (!ha_decode_config(body, blen, &ch, &part, &len) || ch.total == 0) {
        h->n.rx_malformed++;
        return;
    }
    if (h->el.state == HA_STATE_MASTER) {
        h->n.config_rx_as_master++;
        return;
    }
    h->n.config_parts_rx++;
    if (ch.offset == 0) {
        char *buf = realloc(h->cfg_in, ch.total);
        if (buf == NULL)
            return;
        h->cfg_in = buf;
        h->cfg_in_version = ch.version;
        h->cfg_in_total = ch.total;
        h->cfg_in_got = 0;
        h->cfg_in_active = true;
    } else if (!h->cfg_in_active || ch.version != h->cfg_in_version ||
               ch.total != h->cfg_in_total || ch.offset != h->cfg_in_got) {
        h->n.config_out_of_order++;
        h->cfg_in_active = false;
        return;
    }
    memcpy(h->cfg_in + h->cfg_in_got, part, len);
    h->cfg_in_got += (uint32_t)len;
    if (h->cfg_in_got == h->cfg_in_total) {
        h->cfg_in_active = false;
        ha_config_apply(a, h->cfg_in, h->cfg_in_total);
    }
}

static void ha_rx(struct appliance *a, struct rte_mbuf *m, uint64_t now)
{
    struct ha *h = a->ha;
    const uint8_t *body;
    struct ha_advert adv;
    struct ha_hdr hd;
    size_t blen;
    enum ha_decode_err e;

    if (m->hash.usr != a->cfg->ha.peer) {
        h->n.rx_not_peer++;
        return;
    }
    e = ha_decode(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &h->key, &hd,
                  &body, &blen);
    if (e == HA_E_MAC) {
        h->n.rx_bad_mac++;
        return;
    }
    if (e != HA_OK) {
        h->n.rx_malformed++;
        return;
    }
    if (hd.sender != a->cfg->ha.peer) {
        h->n.rx_not_peer++;
        return;
    }
    if (hd.vrid != h->vrid) {
        h->n.rx_wrong_vrid++;
        return;
    }
    if (!ha_replay_check(&h->replay, hd.counter)) {
        h->n.rx_replay++;
        return;
    }
    switch (hd.type) {
    case HA_MSG_ADVERT:
        if (!ha_decode_advert(body, blen, &adv)) {
            h->n.rx_malformed++;
            return;
        }
        h->n.adverts_rx++;
        h->last_advert_rx_ms = now;
        h->peer_sync_rx = adv.sync_rx;
        if (!h->peer_ever)
            LOG_INFO("ha", "peer heard: %s, priority %u", ha_state_name(adv.state),
                     adv.priority);
        h->peer_ever = true;
        ha_elect_advert(&h->el, &adv, now);
        return;
    case HA_MSG_SYNC:
        ha_rx_sync(a, body, blen, now);
        return;
    case HA_MSG_RESYNC:
        h->n.resync_rx++;
        if (h->el.state == HA_STATE_MASTER && !h->bulk_running) {
            h->bulk_pending = true;
            h->cfg_push_pending = true;
        }
        return;
    case HA_MSG_CONFIG:
        ha_rx_config(a, body, blen);
        return;
    default:
        h->n.rx_malformed++;
    }
}

/* True when the kernel says the interface is not up ("down", "lowerlayerdown", ...). */
static bool ha_operstate_down(const char *path)
{
    char buf[32] = "";
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return false;
    if (fgets(buf, sizeof(buf), f) == NULL)
        buf[0] = '\0';
    fclose(f);
    return buf[0] != '\0' && strncmp(buf, "up", 2) != 0 && strncmp(buf, "unknown", 7) != 0;
}

static bool ha_links_down(const struct appliance *a)
{
    const struct ha *h = a->ha;

    for (size_t i = 0; i < a->cfg->n_interfaces; i++) {
        struct rte_eth_link link;
        if (i < CFG_MAX_INTERFACES && h->operstate[i][0] != '\0') {
            if (ha_operstate_down(h->operstate[i]))
                return true;
            continue;
        }
        if (rte_eth_link_get_nowait(a->cfg->interfaces[i].port, &link) == 0 &&
            link.link_status == RTE_ETH_LINK_DOWN)
            return true;
    }
    return false;
}

/* The port whose connected subnet holds ip, or -1. */
static int ha_port_for(const struct lbd_config *cfg, uint32_t ip)
{
    for (size_t i = 0; i < cfg->n_interfaces; i++)
        if (addr_in_prefix(ip, cfg->interfaces[i].ip, cfg->interfaces[i].prefix_len))
            return cfg->interfaces[i].port;
    return -1;
}

static void ha_garp_one(struct appliance *a, uint32_t ip, unsigned *k)
{
    struct ctl_msg msg = {.type = CTL_MSG_HA_GARP, .ip = ip};
    int port = ha_port_for(a->cfg, ip);

    if (port < 0)
        return;
    msg.port = (uint16_t)port;
    dp_send_to_worker(a->dp, (*k)++ % a->dp->n_workers, &msg);
}

/* One round of gratuitous ARP: every VIP (once) and every floating address. */
static void ha_garp_round(struct appliance *a)
{
    const struct lbd_config *cfg = a->cfg;
    unsigned k = 0;

    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = cfg->virtual_services[j].ip == cfg->virtual_services[i].ip;
        if (!seen)
            ha_garp_one(a, cfg->virtual_services[i].ip, &k);
    }
    for (size_t i = 0; i < cfg->ha.n_floating_ips; i++)
        ha_garp_one(a, cfg->ha.floating_ips[i], &k);
    a->ha->n.garp_rounds++;
}

/* Makes the dataplane's ownership follow the election. */
static void ha_apply_state(struct appliance *a, uint64_t now)
{
    struct ha *h = a->ha;
    enum ha_state st = h->el.state;
    char err[256], peer[ADDR_STR_MAX];

    if (st == h->published && !h->publish_pending)
        return;
    if (st != h->published) {
        unsigned k = h->hist_n++ % HA_HISTORY;
        h->hist[k].at_ms = now;
        h->hist[k].from = (uint8_t)h->published;
        h->hist[k].to = (uint8_t)st;
        h->hist[k].why = h->el.reason;
    }
    if (st != h->published)
        LOG_WARN("ha", "state %s -> %s (%s); priority %u, peer %s %s", ha_state_name(h->published),
                 ha_state_name(st), h->el.reason ? h->el.reason : "-", ha_elect_priority(&h->el),
                 addr_format_ipv4(a->cfg->ha.peer, peer),
                 h->el.peer_seen ? ha_state_name(h->el.peer_state) : "never heard");
    a->dp->ha_standby = st != HA_STATE_MASTER;
    a->dp->ha_sync = st == HA_STATE_MASTER;
    if (reconfig_publish(a, err, sizeof(err)) != 0) {
        LOG_ERR("ha", "cannot publish the ownership of the VIPs: %s", err);
        h->publish_pending = true;
        return;
    }
    h->publish_pending = false;
    if (st == HA_STATE_MASTER && h->published != HA_STATE_MASTER) {
        h->garp_left = HA_GARP_ROUNDS;
        h->garp_next_ms = now;
        if (h->peer_alive) {
            h->bulk_pending = true;     /* the peer, backup now, takes our state */
            h->cfg_push_pending = true;
        }
    }
    if (st != HA_STATE_MASTER) {
        h->garp_left = 0;
        h->cfg_sending = false;
        h->bulk_running = false;
        h->bulk_pending = false;
        h->sync_rx_seen = false;
        h->resync_ms = now;             /* the master's bulk comes first; ask later */
    }
    h->published = st;
}

static int ha_monitor_send(void *arg, unsigned w, const struct ctl_msg *msg)
{
    return dp_send_to_worker(arg, w, msg);
}

void ha_poll(struct appliance *a, uint64_t now)
{
    struct ha *h = a->ha;
    struct rte_mbuf *pkts[32];
    unsigned n;
    bool alive;

    if (h == NULL)
        return;
    while ((n = dp_ha_recv(a->dp, pkts, RTE_DIM(pkts))) > 0) {
        for (unsigned i = 0; i < n; i++) {
            ha_rx(a, pkts[i], now);
            rte_pktmbuf_free(pkts[i]);
        }
    }
    if (now - h->fault_check_ms >= HA_FAULT_CHECK_MS) {
        bool down = ha_links_down(a);
        h->fault_check_ms = now;
        if (down != !!(h->el.faults & HA_FAULT_LINK))
            ha_elect_set_fault(&h->el, HA_FAULT_LINK, down, now);
    }
    (void)ha_monitor_poll(&h->mon, ha_monitor_send, a->dp, now);
    {
        bool failed = ha_monitor_failed(&h->mon);   /* replies: appliance_worker_msg */
        if (failed != !!(h->el.faults & HA_FAULT_MONITOR))
            ha_elect_set_fault(&h->el, HA_FAULT_MONITOR, failed, now);
    }
    ha_elect_tick(&h->el, now);
    ha_apply_state(a, now);
    if (ha_elect_advert_due(&h->el, now))
        ha_send_advert(a);

    alive = ha_elect_peer_alive(&h->el, now);
    if (alive && !h->peer_alive && h->el.state == HA_STATE_MASTER) {
        h->bulk_pending = true;
        h->cfg_push_pending = true;
    }
    h->peer_alive = alive;
    /* The config first (the peer's records name its services), then the state. */
    if (h->el.state == HA_STATE_MASTER) {
        ha_config_check(a);
        if (h->cfg_push_pending && alive && h->cfg_text != NULL) {
            h->cfg_push_pending = false;
            h->cfg_sending = true;
            h->cfg_off = 0;
        }
        if (alive)
            ha_config_send(a);
        else
            h->cfg_sending = false;
    }
    /* Records the workers could not queue are lost to the peer: heal with a bulk. */
    if (h->el.state == HA_STATE_MASTER && alive) {
        uint64_t lost = 0;
        for (unsigned i = 0; i < a->dp->n_workers; i++)
            lost += dp_worker_stats(a->dp, i)->l4.sync_ring_full;
        if (lost != h->sync_lost_seen)
            h->bulk_pending = true;     /* after the one running, if any */
        h->sync_lost_seen = lost;
    }
    if (h->el.state == HA_STATE_MASTER && h->bulk_pending && !h->bulk_running && alive &&
        !h->cfg_sending)
        ha_start_bulk(a, now);
    ha_sync_out(a, now);
    /* A backup hearing a master but without a complete bulk asks for one. */
    if (h->el.state == HA_STATE_BACKUP && alive && h->el.peer_state == HA_STATE_MASTER &&
        !h->el.sync_ready && now - h->resync_ms >= HA_RESYNC_RETRY_MS)
        ha_send_resync(a, now);

    if (h->garp_left > 0 && now >= h->garp_next_ms && h->el.state == HA_STATE_MASTER) {
        ha_garp_round(a);
        h->garp_left--;
        h->garp_next_ms = now + HA_GARP_INTERVAL_MS;
    }
}

const char *ha_state_str(const struct appliance *a)
{
    return a->ha == NULL ? "standalone" : ha_state_name(a->ha->el.state);
}

static void ha_add_ago(cJSON *o, const char *key, bool have, uint64_t now, uint64_t t)
{
    if (have)
        cJSON_AddNumberToObject(o, key, (double)(now - t));
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *ha_status(const struct appliance *a, uint64_t now)
{
    const struct ha *h = a->ha;
    const struct ha_counters *c;
    cJSON *o = cJSON_CreateObject(), *peer, *cnt, *sync;
    char ip[ADDR_STR_MAX];
    static const char *const overrides[] = {"none", "promoted", "demoted"};

    if (o == NULL)
        return NULL;
    if (h == NULL) {
        cJSON_AddBoolToObject(o, "enabled", false);
        cJSON_AddStringToObject(o, "state", "standalone");
        return o;
    }
    c = &h->n;
    cJSON_AddBoolToObject(o, "enabled", true);
    cJSON_AddStringToObject(o, "state", ha_state_name(h->el.state));
    cJSON_AddNumberToObject(o, "priority", h->el.cfg.priority);
    cJSON_AddNumberToObject(o, "effective_priority", ha_elect_priority(&h->el));
    cJSON_AddStringToObject(o, "override", overrides[h->el.override]);
    cJSON_AddBoolToObject(o, "preempt", h->el.cfg.preempt);
    cJSON_AddNumberToObject(o, "preempt_delay_ms", h->el.cfg.preempt_delay_ms);
    cJSON_AddNumberToObject(o, "advert_interval_ms", h->el.cfg.interval_ms);
    cJSON_AddNumberToObject(o, "master_down_ms", ha_elect_master_down_ms(&h->el));
    cJSON_AddStringToObject(o, "self", addr_format_ipv4(h->self_ip, ip));
    cJSON_AddNumberToObject(o, "vrid", h->vrid);
    cJSON_AddBoolToObject(o, "fault", h->el.fault);
    {
        cJSON *fa = cJSON_AddArrayToObject(o, "faults");
        if (h->el.faults & HA_FAULT_LINK)
            cJSON_AddItemToArray(fa, cJSON_CreateString("link"));
        if (h->el.faults & HA_FAULT_MONITOR)
            cJSON_AddItemToArray(fa, cJSON_CreateString("monitor"));
    }
    cJSON_AddNumberToObject(o, "monitor_interval_ms", h->mon.interval_ms);
    cJSON_AddNumberToObject(o, "monitor_fall", h->mon.fall);
    cJSON_AddItemToObject(o, "monitor", ha_monitor_status(&h->mon, now));
    cJSON_AddNumberToObject(o, "transitions", (double)h->el.transitions);
    cJSON_AddNumberToObject(o, "in_state_ms", (double)(now - h->el.since_ms));
    cJSON_AddStringToObject(o, "last_reason", h->el.reason ? h->el.reason : "");
    {
        cJSON *hist = cJSON_AddArrayToObject(o, "history");
        for (unsigned i = 0; i < HA_HISTORY && i < h->hist_n; i++) {
            unsigned k = (h->hist_n - 1 - i) % HA_HISTORY;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "ms_ago", (double)(now - h->hist[k].at_ms));
            cJSON_AddStringToObject(e, "from", ha_state_name(h->hist[k].from));
            cJSON_AddStringToObject(e, "to", ha_state_name(h->hist[k].to));
            cJSON_AddStringToObject(e, "reason", h->hist[k].why ? h->hist[k].why : "");
            cJSON_AddItemToArray(hist, e);
        }
    }
    peer = cJSON_AddObjectToObject(o, "peer");
    cJSON_AddStringToObject(peer, "ip", addr_format_ipv4(a->cfg->ha.peer, ip));
    cJSON_AddStringToObject(peer, "state", h->el.peer_seen ? ha_state_name(h->el.peer_state)
                                                           : "unknown");
    cJSON_AddNumberToObject(peer, "priority", h->el.peer_priority);
    cJSON_AddBoolToObject(peer, "alive", ha_elect_peer_alive(&h->el, now));
    ha_add_ago(peer, "last_advert_ms_ago", h->peer_ever, now, h->last_advert_rx_ms);
    sync = cJSON_AddObjectToObject(o, "sync");
    cJSON_AddNumberToObject(sync, "seq_tx", h->sync_seq_tx);
    cJSON_AddNumberToObject(sync, "seq_rx", h->sync_seq_rx);
    cJSON_AddNumberToObject(sync, "peer_acked", h->peer_sync_rx);
    cJSON_AddNumberToObject(sync, "lag_batches",
                            h->el.state == HA_STATE_MASTER &&
                                    (int32_t)(h->sync_seq_tx - h->peer_sync_rx) > 0
                                ? (double)(int32_t)(h->sync_seq_tx - h->peer_sync_rx)
                                : 0);
    ha_add_ago(sync, "last_rx_ms_ago", h->last_sync_rx_ms != 0, now, h->last_sync_rx_ms);
    cJSON_AddBoolToObject(sync, "bulk_running", h->bulk_running);
    cJSON_AddBoolToObject(sync, "ready", h->el.sync_ready);
    cJSON_AddNumberToObject(sync, "batches_tx", (double)c->sync_batches_tx);
    cJSON_AddNumberToObject(sync, "records_tx", (double)c->sync_records_tx);
    cJSON_AddNumberToObject(sync, "bytes_tx", (double)c->sync_bytes_tx);
    cJSON_AddNumberToObject(sync, "records_unsent", (double)c->sync_records_unsent);
    cJSON_AddNumberToObject(sync, "batches_rx", (double)c->sync_batches_rx);
    cJSON_AddNumberToObject(sync, "records_rx", (double)c->sync_records_rx);
    cJSON_AddNumberToObject(sync, "rx_as_master", (double)c->sync_rx_as_master);
    cJSON_AddNumberToObject(sync, "gaps", (double)c->sync_gaps);
    cJSON_AddNumberToObject(sync, "install_full", (double)c->sync_install_full);
    cJSON_AddNumberToObject(sync, "bulk_started", (double)c->bulk_started);
    cJSON_AddNumberToObject(sync, "bulk_done", (double)c->bulk_done);
    cJSON_AddNumberToObject(sync, "bulk_received", (double)c->bulk_received);
    cJSON_AddNumberToObject(sync, "resync_tx", (double)c->resync_tx);
    cJSON_AddNumberToObject(sync, "resync_rx", (double)c->resync_rx);
    {
        cJSON *cf = cJSON_AddObjectToObject(o, "config");
        cJSON_AddNumberToObject(cf, "version_tx", h->cfg_version);
        cJSON_AddNumberToObject(cf, "version_rx", h->cfg_in_version);
        cJSON_AddBoolToObject(cf, "sending", h->cfg_sending);
        ha_add_ago(cf, "last_applied_ms_ago", h->cfg_applied_ms != 0, now, h->cfg_applied_ms);
        cJSON_AddNumberToObject(cf, "pushes", (double)c->config_pushes);
        cJSON_AddNumberToObject(cf, "parts_tx", (double)c->config_parts_tx);
        cJSON_AddNumberToObject(cf, "parts_rx", (double)c->config_parts_rx);
        cJSON_AddNumberToObject(cf, "applied", (double)c->config_applied);
        cJSON_AddNumberToObject(cf, "unchanged", (double)c->config_unchanged);
        cJSON_AddNumberToObject(cf, "rejected", (double)c->config_rejected);
        cJSON_AddNumberToObject(cf, "out_of_order", (double)c->config_out_of_order);
        cJSON_AddNumberToObject(cf, "rx_as_master", (double)c->config_rx_as_master);
    }
    cnt = cJSON_AddObjectToObject(o, "counters");
    cJSON_AddNumberToObject(cnt, "adverts_tx", (double)c->adverts_tx);
    cJSON_AddNumberToObject(cnt, "adverts_rx", (double)c->adverts_rx);
    cJSON_AddNumberToObject(cnt, "rx_bad_mac", (double)c->rx_bad_mac);
    cJSON_AddNumberToObject(cnt, "rx_replay", (double)c->rx_replay);
    cJSON_AddNumberToObject(cnt, "rx_not_peer", (double)c->rx_not_peer);
    cJSON_AddNumberToObject(cnt, "rx_malformed", (double)c->rx_malformed);
    cJSON_AddNumberToObject(cnt, "rx_wrong_vrid", (double)c->rx_wrong_vrid);
    cJSON_AddNumberToObject(cnt, "tx_failed", (double)c->tx_failed);
    cJSON_AddNumberToObject(cnt, "garp_rounds", (double)c->garp_rounds);
    return o;
}

int ha_promote(struct appliance *a, char *err, size_t errlen)
{
    if (a->ha == NULL)
        return lbd_err_set(err, errlen, LBD_ESTATE, "no \"ha\" section: a standalone appliance");
    if (!ha_elect_promote(&a->ha->el, appliance_now_ms()))
        return lbd_err_set(err, errlen, LBD_ESTATE, "in fault (a data port is down or a monitored address does not answer)");
    LOG_WARN("ha", "ha.promote: master, priority 255 until ha.demote or a restart");
    ha_poll(a, appliance_now_ms());
    return 0;
}

int ha_demote(struct appliance *a, char *err, size_t errlen)
{
    if (a->ha == NULL)
        return lbd_err_set(err, errlen, LBD_ESTATE, "no \"ha\" section: a standalone appliance");
    ha_elect_demote(&a->ha->el, appliance_now_ms());
    LOG_WARN("ha", "ha.demote: priority 0, the peer takes over (until ha.promote or a restart)");
    ha_poll(a, appliance_now_ms());
    return 0;
}
