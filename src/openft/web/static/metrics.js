// Which curves each method draws: a chart per figure, a series per place it was measured.
const PLACES = ["train_", "valid_", "full_valid_"];
const across = (name) => PLACES.map((place) => place + name);

export const CHARTS = {
  supervised: [
    ["Loss", across("loss")],
    ["Accuracy", across("mean_token_accuracy")],
  ],
  dpo: [
    ["Loss", across("loss")],
    ["Reward margin", across("reward_margin")],
    ["Reward accuracy", across("reward_accuracy")],
  ],
  reinforcement: [
    ["Reward", across("mean_reward")],
    ["Loss", across("loss")],
  ],
};

// The metrics events' data (oldest first) as the series of one chart.
export function seriesOf(names, steps) {
  return names.map((name) => ({
    name,
    points: steps
      .filter((d) => typeof d[name] === "number" && Number.isFinite(d[name]))
      .map((d) => ({ step: d.step, value: d[name] })),
  }));
}

// "12/40 (30%)" from the newest metrics event, or "" when none.
export function progressOf(job, latest) {
  if (job.status === "succeeded") return "100%";
  if (!latest || !latest.total_steps) return "";
  return `${latest.step}/${latest.total_steps} (${Math.round((100 * latest.step) / latest.total_steps)}%)`;
}
