/* Unit tests of vmmd's tender uids: the range a core accepts (each limit
 * at and one past it) and the pool (every uid once, none past the count,
 * free again once put back, adopted uids marked).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmmd_internal.h"

/* alb_vmmd_new() with range first:count: its return code, message in err. */
static int new_core(uint32_t first, uint32_t count, struct alb_error *err)
{
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct alb_vmmd_config c;
	alb_vmmd_config_init(&c);
	c.tmpdir = "/nonexistent/run";
	c.dbdir = "/nonexistent/db";
	c.tender_uid_first = first;
	c.tender_uid_count = count;
	struct alb_vmmd *v = NULL;
	int rc = alb_vmmd_new(&loop, &c, &v, err);
	alb_vmmd_free(v);
	assert_int_equal(uv_loop_close(&loop), 0);
	return rc;
}

static void test_range_limits(void **state)
{
	(void)state;
	struct alb_error err;
	/* none: as before */
	assert_int_equal(new_core(0, 0, &err), 0);
	/* the first uid: 1 at least */
	assert_int_equal(new_core(1, 1, &err), 0);
	assert_int_equal(new_core(0, 1, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "tender uids 0:1: the first uid may not be 0 (root)");
	/* the count: ALB_VMMD_TENDER_UIDS_MAX, not one more */
	assert_int_equal(new_core(100000, ALB_VMMD_TENDER_UIDS_MAX, &err), 0);
	assert_int_equal(new_core(100000, ALB_VMMD_TENDER_UIDS_MAX + 1, &err),
			 ALB_EINVAL);
	assert_string_equal(err.msg, "tender uids 100000:65537: at most 65536 uids");
	/* the last uid: ALB_VMMD_TENDER_UID_MAX, not one more */
	assert_int_equal(new_core(ALB_VMMD_TENDER_UID_MAX - 9, 10, &err), 0);
	assert_int_equal(new_core(ALB_VMMD_TENDER_UID_MAX - 8, 10, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "tender uids 4294967286:10: the last uid may be "
				     "at most 4294967294");
	assert_int_equal(new_core(UINT32_MAX, 1, &err), ALB_EINVAL);
}

static void test_pool(void **state)
{
	(void)state;
	struct alb_vmmd v;
	memset(&v, 0, sizeof(v));
	struct alb_error err;
	uint32_t uid;
	/* no range: uid 0, nothing taken */
	assert_int_equal(uid_take(&v, &uid, &err), 0);
	assert_int_equal(uid, 0);
	assert_false(uid_in_range(&v, 0));

	/* a range of 70 (two words of bits): each uid once, in order */
	const uint32_t first = 5000, count = 70;
	assert_int_equal(uids_init(&v, first, count, &err), 0);
	assert_false(uid_in_range(&v, first - 1));
	assert_true(uid_in_range(&v, first));
	assert_true(uid_in_range(&v, first + count - 1));
	assert_false(uid_in_range(&v, first + count));
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(uid_take(&v, &uid, &err), 0);
		assert_int_equal(uid, first + i);
	}
	/* at the count: none left */
	assert_int_equal(uid_take(&v, &uid, &err), ALB_EBUSY);
	assert_string_equal(err.msg, "no free tender uid: all 70 of 5000..5069 run "
				     "a tender");
	/* one back: that one, and again none */
	uid_put(&v, first + 42);
	assert_int_equal(uid_take(&v, &uid, &err), 0);
	assert_int_equal(uid, first + 42);
	assert_int_equal(uid_take(&v, &uid, &err), ALB_EBUSY);
	/* put twice, or outside the range: no effect */
	uid_put(&v, first + 3);
	uid_put(&v, first + 3);
	uid_put(&v, first + count);
	uid_put(&v, 0);
	assert_int_equal(uid_take(&v, &uid, &err), 0);
	assert_int_equal(uid, first + 3);
	assert_int_equal(uid_take(&v, &uid, &err), ALB_EBUSY);

	/* round-robin: a freed uid is reused after the others */
	uid_put(&v, first + 10);
	uid_put(&v, first + 60);
	assert_int_equal(uid_take(&v, &uid, &err), 0);
	assert_int_equal(uid, first + 10);
	uid_put(&v, first + 10);
	assert_int_equal(uid_take(&v, &uid, &err), 0);
	assert_int_equal(uid, first + 60);

	/* adoption marks a uid; twice or outside the range it does not */
	uid_put(&v, first + 20);
	assert_true(uid_mark(&v, first + 20));
	assert_false(uid_mark(&v, first + 20));
	assert_false(uid_mark(&v, first + count));
	assert_int_equal(uid_take(&v, &uid, &err), 0);
	assert_int_equal(uid, first + 10);

	/* the credentials of a tender: uid, gid, the group of /dev/kvm */
	struct alb_spawn_creds c;
	v.kvm_gid = 0;
	uid_creds(&v, first, &c);
	assert_int_equal(c.uid, first);
	assert_int_equal(c.gid, first);
	assert_int_equal(c.n_groups, 0);
	v.kvm_gid = 123;
	uid_creds(&v, first, &c);
	assert_int_equal(c.n_groups, 1);
	assert_int_equal(c.groups[0], 123);
	uids_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_limits),
		cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
