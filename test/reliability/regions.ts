/** The model's two Regions: A is a Multi-Region key with its replica in REPLICA, B lives in PRIMARY only. */
export const PRIMARY = "eu-west-1";
export const REPLICA = "eu-central-1";
