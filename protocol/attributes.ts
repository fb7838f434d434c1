/**
 * Container-instance attributes with a meaning shared by the agent and the control plane.
 *
 * `berth.capacity-provider`: the capacity provider whose pool the instance belongs to. Berth has
 * no Auto Scaling groups, so a capacity provider `X` is exactly the set of container instances
 * carrying this attribute with the value `X`. The agent sets it from `--capacity-provider X`
 * (or `BERTH_AGENT_CAPACITY_PROVIDER`); PutAttributes can set or change it like any other.
 */
export const CAPACITY_PROVIDER_ATTRIBUTE = 'berth.capacity-provider';
