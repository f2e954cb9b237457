package dbtest

import "testing"

// TestShardNamesAreTheirIndexesNames: a shard's index names, the ones Citus cut to fit (prefix,
// hash, shard id) among them, read as the schema's index names; a prefix that two indexes
// share is left alone.
func TestShardNamesAreTheirIndexesNames(t *testing.T) {
	was := citus
	citus = true
	t.Cleanup(func() { citus = was })
	indexes := []string{"callbackdelivery_account_id_endpoint_id_conversion_id_sequence", "click_account_id_gk_click_id",
		"twin_index_name_a", "twin_index_name_b"}
	for plan, want := range map[string]string{
		"Index Scan using callbackdelivery_account_id_endpoint_id_convers_1b0323cf_102008 on callback_deliveries_102008 p": "Index Scan using callbackdelivery_account_id_endpoint_id_conversion_id_sequence on callback_deliveries p",
		"Index Scan using click_account_id_gk_click_id_102040 on clicks_102040 clicks":                                     "Index Scan using click_account_id_gk_click_id on clicks",
		"Index Scan using twin_index_name_0badcafe_102008 on t_102008 t":                                                   "Index Scan using twin_index_name_0badcafe on t",
	} {
		if got := citusShardNames(plan, indexes); got != want {
			t.Errorf("%s\ngot  %s\nwant %s", plan, got, want)
		}
	}
}
