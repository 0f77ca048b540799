/* libalbatross — TLS for the endpoint's clients on a daemon/common
 * connection in raw mode: OpenSSL works on two memory BIOs, bytes read from
 * the socket go into one, and what OpenSSL writes to the other goes to the
 * connection's write queue (MSG_NOSIGNAL). Nothing blocks.
 * SPDX-License-Identifier: ISC */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "dcommon/conn.h"
#include "tlsd_internal.h"

/* Plaintext bytes taken from OpenSSL at once: one TLS record. */
#define TLS_PLAIN_BUF (16 * 1024)

/* The reason of the last OpenSSL failure, for a log line. */
static const char *tls_reason(struct tconn *k)
{
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	long v = SSL_get_verify_result(k->ssl);
	if (v != X509_V_OK)
		return X509_verify_cert_error_string(v);
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_EXCESSIVE_MESSAGE_SIZE)
		return "the client's certificate chain is larger than this "
		       "endpoint takes (cert_list_max, alb-tlsd --cert-list-max)";
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	return r != NULL ? r : "connection failed";
}

size_t tlsd_client_pending(const struct tconn *k)
{
	return k->cl != NULL ? dc_conn_pending(k->cl) : 0;
}

void tlsd_tls_flush(struct tconn *k)
{
	size_t n = BIO_ctrl_pending(k->wbio);
	if (n == 0 || k->state == T_CLOSING || k->cl == NULL)
		return;
	struct alb_buf b = {0};
	uint8_t *p = malloc(n);
	if (p == NULL) {
		alb_log_error("out of memory for TLS output");
		tlsd_conn_close(k);
		return;
	}
	/* A memory BIO hands out everything it holds. */
	int got = BIO_read(k->wbio, p, (int)n);
	if (got != (int)n) {
		free(p);
		tlsd_conn_close(k);
		return;
	}
	b.data = b.base_ = p;
	b.len = b.cap_ = n;
	if (dc_conn_send_buf(k->cl, &b) != 0)
		tlsd_conn_close(k);
}

int tlsd_tls_send(struct tconn *k, const uint8_t *p, size_t n)
{
	if (k->state == T_CLOSING)
		return -1;
	/* Into a memory BIO SSL_write never blocks; large messages are cut
	 * into records by OpenSSL itself, in INT_MAX pieces here. */
	while (n > 0) {
		int part = n > 0x40000000u ? 0x40000000 : (int)n;
		if (SSL_write(k->ssl, p, part) != part) {
			alb_log_warn("TLS write failed: %s", tls_reason(k));
			return -1;
		}
		p += part;
		n -= (size_t)part;
	}
	tlsd_tls_flush(k);
	return 0;
}

void tlsd_tls_close_notify(struct tconn *k)
{
	SSL_shutdown(k->ssl);
	ERR_clear_error();
	tlsd_tls_flush(k);
}

void tlsd_tls_pump(struct tconn *k)
{
	uint8_t buf[TLS_PLAIN_BUF];
	while (k->state > T_HANDSHAKE && k->state < T_FINISH && !k->cl_paused) {
		/* a stream's bytes are decrypted where its frame collects */
		uint8_t *p = buf;
		size_t room = sizeof(buf);
		bool direct = tlsd_conn_app_space(k, &p, &room);
		if (!direct && k->state >= T_FINISH)
			break;
		int n = SSL_read(k->ssl, p, room > INT_MAX ? INT_MAX : (int)room);
		if (n > 0 && direct) {
			tlsd_conn_app_advance(k, (size_t)n);
			continue;
		}
		if (n > 0) {
			tlsd_conn_app_data(k, buf, (size_t)n);
			continue;
		}
		int e = SSL_get_error(k->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) {
			tlsd_conn_client_gone(k, false);
		} else {
			alb_log_info("TLS read failed: %s", tls_reason(k));
			tlsd_conn_client_gone(k, true);
		}
		break;
	}
	tlsd_tls_flush(k);
}

static void handshake(struct tconn *k)
{
	int r = SSL_do_handshake(k->ssl);
	tlsd_tls_flush(k);
	if (r == 1) {
		uv_timer_stop(&k->timer);
		tlsd_handshake_over(k);
		alb_log_debug("TLS handshake done");
		tlsd_conn_established(k);
		tlsd_tls_pump(k);
		return;
	}
	if (SSL_get_error(k->ssl, r) == SSL_ERROR_WANT_READ)
		return;
	alb_log_error("TLS handshake failed: %s", tls_reason(k));
	k->d->st.handshakes_failed++;
	tlsd_handshake_over(k);
	/* The alert goes out before the connection closes. */
	tlsd_conn_end(k);
}

void tlsd_client_bytes(struct tconn *k, const uint8_t *p, size_t n)
{
	if (k->state >= T_FINISH)
		return;
	if (BIO_write(k->rbio, p, (int)n) != (int)n) {
		tlsd_conn_close(k);
		return;
	}
	if (k->state == T_HANDSHAKE) {
		handshake(k);
	} else {
		tlsd_tls_pump(k);
		/* the client sent something: its silence starts again */
		if (k->state < T_FINISH)
			tlsd_idle_update(k);
	}
}

void tlsd_client_lost(struct tconn *k, int rc)
{
	if (k->state >= T_FINISH) {
		/* a final reply that cannot be sent: nothing more to do */
		tlsd_conn_close(k);
		return;
	}
	tlsd_client_read_stop(k);
	if (k->state == T_HANDSHAKE) {
		alb_log_info("TLS handshake: the client went away");
		k->d->st.handshakes_failed++;
		tlsd_conn_close(k);
		return;
	}
	tlsd_conn_client_gone(k, rc != ALB_EEOF);
}

void tlsd_client_read_start(struct tconn *k)
{
	if (!k->cl_reading && k->state < T_FINISH && k->cl != NULL) {
		dc_conn_read(k->cl, false);
		k->cl_reading = true;
	}
	tlsd_idle_update(k);
}

void tlsd_client_read_stop(struct tconn *k)
{
	if (k->cl_reading) {
		if (k->cl != NULL)
			dc_conn_pause(k->cl);
		k->cl_reading = false;
	}
	tlsd_idle_update(k);
}

static void on_idle(uv_timer_t *t)
{
	struct tconn *k = t->data;
	if ((k->state != T_IMAGE && k->state != T_BLOCK) || k->cl_paused)
		return;
	alb_log_warn("dropping a client that sent nothing for %u ms",
		     k->d->idle_ms);
	char text[96];
	snprintf(text, sizeof(text), "no data from the client for %u ms",
		 k->d->idle_ms);
	tlsd_conn_idle_timeout(k, text);
}

void tlsd_idle_update(struct tconn *k)
{
	if ((k->state == T_IMAGE || k->state == T_BLOCK) && !k->cl_paused &&
	    k->cl_reading)
		uv_timer_start(&k->timer, on_idle, k->d->idle_ms, 0);
	else if (k->state > T_HANDSHAKE && k->state < T_CLOSING)
		uv_timer_stop(&k->timer);
}

static void on_timeout(uv_timer_t *t)
{
	struct tconn *k = t->data;
	if (k->state != T_HANDSHAKE)
		return;
	alb_log_warn("TLS handshake timed out after %u ms", k->d->handshake_ms);
	k->d->st.handshakes_failed++;
	tlsd_conn_close(k);
}

int tlsd_tls_start(struct tconn *k)
{
	k->ssl = SSL_new(k->d->ctx);
	if (k->ssl == NULL)
		return -1;
	k->rbio = BIO_new(BIO_s_mem());
	k->wbio = BIO_new(BIO_s_mem());
	if (k->rbio == NULL || k->wbio == NULL) {
		BIO_free(k->rbio);
		BIO_free(k->wbio);
		k->rbio = k->wbio = NULL;
		return -1;
	}
	/* An empty input BIO means "wait for more", never end of file. */
	BIO_set_mem_eof_return(k->rbio, -1);
	SSL_set_bio(k->ssl, k->rbio, k->wbio);
	SSL_set_accept_state(k->ssl);
	if (uv_timer_start(&k->timer, on_timeout, k->d->handshake_ms, 0) != 0)
		return -1;
	k->in_handshake = true;
	k->d->n_handshakes++;
	tlsd_client_read_start(k);
	return k->cl_reading ? 0 : -1;
}
