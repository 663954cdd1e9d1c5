"""The OpenAI Cookbook's fine-tuning notebooks as tests: each test sends one notebook's requests as
the notebook writes them (its model names, its request shapes, its way of reading the answers),
with small data, through the official SDK in strict mode, against one server on the built-in
SmolLM2-135M-Instruct. They assert what the notebook relies on (the fields it reads exist with the
right types, the code it runs on them does not fail), not the quality of a 135M model.

- ``How_to_finetune_chat_models``: JSONL train and validation files written to disk and uploaded
  with ``open(path, "rb")``, a job on ``gpt-4o-mini-2024-07-18`` with a suffix, polled with
  ``jobs.retrieve``, its events read with ``list_events``, then a chat completion on the model.
- ``Fine_tuning_for_function_calling``: the drone copilot (five of its tools); training rows carry
  ``tools``, ``parallel_tool_calls`` and an assistant ``tool_calls`` turn, the result file is read
  as base64 CSV, and the notebook's ``get_chat_completion`` (``stop=None`` and ``seed`` sent as it
  sends them) calls the tuned model with ``tool_choice`` "required"; the first call's name is
  read and its arguments ``json.loads``-ed.
- ``Fine_tuning_direct_preference_optimization_guide``: preference pairs uploaded from a named
  ``BytesIO``, a DPO job with ``beta`` 0.1, then ``responses.create`` on the tuned model.
- ``Leveraging_model_distillation_to_fine-tune_a_model``: a teacher's structured answers stored
  with ``store=True`` and metadata, found again with ``chat.completions.list(metadata=...)``,
  turned into a training file for a smaller model, which answers under the same schema.
- Structured Outputs (``Structured_Outputs_Intro``) on a tuned model: ``response_format``
  json_schema read with ``json.loads``, and ``chat.completions.parse`` with a pydantic model.
- ``reinforcement_fine_tuning``: a python grader built from a function's source, checked with
  ``alpha.graders.validate`` and ``run``, an RFT job on ``o4-mini-2025-04-16`` sent with the
  notebook's ``response_format=None``, then ``responses.create`` with a reasoning effort. This
  one runs on a server of its own with a 64-token window, so that its samples stay short.

Each job is one step (10 rows, n_epochs 1, one batch of 10), so the module runs in minutes.
"""

from __future__ import annotations

import base64
import inspect
import io
import json
import time
from typing import Literal

import pytest
from pydantic import BaseModel

from openft.config import Settings
from support.clients import sync_client
from support.drones import SYSTEM as DRONE_SYSTEM
from support.drones import tools as drone_tools
from support.server import RunningServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

ONE_STEP = {"n_epochs": 1, "batch_size": 10}


@pytest.fixture(scope="module")
def server(tmp_path_factory, builtin_dir):
    data_dir = tmp_path_factory.mktemp("cookbook")
    (data_dir / "models").symlink_to(builtin_dir.parent, target_is_directory=True)
    settings = Settings(
        data_dir=data_dir, validator_poll_seconds=0.2, embedded_worker=True, worker_poll_seconds=0.2
    )
    running = RunningServer(settings).start()
    yield running
    running.stop()


@pytest.fixture
def client(server):
    with sync_client(server.url, timeout=600) as sdk:
        yield sdk


def wait_for_job(client, job_id: str, timeout: float = 900):
    """The notebooks' polling loop: retrieve until the job is finished."""
    deadline = time.monotonic() + timeout
    while (job := client.fine_tuning.jobs.retrieve(job_id)).status not in {
        "succeeded",
        "failed",
        "cancelled",
    }:
        assert time.monotonic() < deadline, f"job {job_id} stayed {job.status}"
        time.sleep(0.5)
    assert job.status == "succeeded", job.error
    assert isinstance(job.fine_tuned_model, str) and job.fine_tuned_model.startswith("ft:")
    return job


# How_to_finetune_chat_models ---------------------------------------------------------------------

RECIPE_SYSTEM = (
    "You are a helpful recipe assistant. You are to extract the generic ingredients from each of the "
    "recipes provided."
)
RECIPES = [
    ("No-Bake Nut Cookies", ["brown sugar", "milk", "vanilla", "nuts", "butter"]),
    ("Jewell Ball'S Chicken", ["beef", "chicken breasts", "cream of mushroom soup", "sour cream"]),
    ("Creamy Corn", ["frozen corn", "cream cheese", "butter", "garlic powder", "salt", "pepper"]),
    ("Chicken Funny", ["chicken", "chicken gravy", "cream of mushroom soup", "cheese"]),
    ("Reeses Cups(Candy)", ["peanut butter", "graham cracker crumbs", "butter", "powdered sugar"]),
    ("Cheeseburger Potato Soup", ["potatoes", "water", "ground beef", "onion", "cheese"]),
]


def recipe_messages(title: str, ingredients: list[str], answer: bool = True) -> list[dict]:
    user = f"Title: {title}\n\nIngredients: {json.dumps(ingredients)}\n\nGeneric ingredients: "
    messages = [{"role": "system", "content": RECIPE_SYSTEM}, {"role": "user", "content": user}]
    if answer:
        messages.append({"role": "assistant", "content": json.dumps(ingredients)})
    return messages


def write_jsonl(rows: list[dict], path) -> None:
    with open(path, "w") as file:
        for row in rows:
            file.write(json.dumps(row) + "\n")


def test_how_to_finetune_chat_models(client, tmp_path):
    training_rows = [{"messages": recipe_messages(*RECIPES[i % 6])} for i in range(10)]
    write_jsonl(training_rows, tmp_path / "tmp_recipe_finetune_training.jsonl")
    write_jsonl(training_rows[:3], tmp_path / "tmp_recipe_finetune_validation.jsonl")

    with open(tmp_path / "tmp_recipe_finetune_training.jsonl", "rb") as training_fd:
        training_response = client.files.create(file=training_fd, purpose="fine-tune")
    training_file_id = training_response.id
    with open(tmp_path / "tmp_recipe_finetune_validation.jsonl", "rb") as validation_fd:
        validation_response = client.files.create(file=validation_fd, purpose="fine-tune")
    validation_file_id = validation_response.id
    assert training_file_id.startswith("file-") and validation_response.filename.endswith(".jsonl")

    response = client.fine_tuning.jobs.create(
        training_file=training_file_id,
        validation_file=validation_file_id,
        model="gpt-4o-mini-2024-07-18",
        suffix="recipe-ner",
        hyperparameters=ONE_STEP,  # the notebook leaves them "auto"; one step keeps the test short
    )
    job_id = response.id
    assert response.status in {"validating_files", "queued", "running"}
    response = wait_for_job(client, job_id)
    assert ":recipe-ner:" in response.fine_tuned_model

    events = client.fine_tuning.jobs.list_events(job_id)
    for event in reversed(events.data):  # the notebook prints them oldest first
        assert isinstance(event.message, str) and isinstance(event.created_at, int)
    assert events.data[0].message == "The job has successfully completed"

    fine_tuned_model_id = client.fine_tuning.jobs.retrieve(job_id).fine_tuned_model
    test_messages = recipe_messages("Nolan's Chicken Soup", ["chicken", "carrots", "celery"], answer=False)
    response = client.chat.completions.create(
        model=fine_tuned_model_id, messages=test_messages, temperature=0, max_tokens=30
    )
    assert response.model == fine_tuned_model_id
    assert isinstance(response.choices[0].message.content, str) and response.choices[0].message.content


# Fine_tuning_for_function_calling ----------------------------------------------------------------

DRONE_FUNCTIONS = {
    "takeoff_drone",
    "land_drone",
    "control_drone_movement",
    "return_to_home",
    "reject_request",
}
FUNCTION_LIST = [tool for tool in drone_tools() if tool["function"]["name"] in DRONE_FUNCTIONS]
DRONE_CALLS = [
    ("Take off the drone to 100 meters", "takeoff_drone", {"altitude": 100}),
    ("Land the drone at the home base", "land_drone", {"location": "home_base"}),
    (
        "Move the drone forward by 10 meters",
        "control_drone_movement",
        {"direction": "forward", "distance": 10},
    ),
    ("Come back home", "return_to_home", {}),
    ("Play some music", "reject_request", {}),
]


def get_chat_completion(
    client,
    messages,
    model,
    max_tokens=96,
    temperature=0.0,
    stop=None,
    tools=None,
    seed=42,
    functions=None,
    tool_choice=None,
):
    """The notebook's helper: every parameter sent, ``None`` ones as null."""
    params = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stop": stop,
        "tools": tools,
        "seed": seed,
        "tool_choice": tool_choice,
    }
    if functions:
        params["functions"] = functions
    completion = client.chat.completions.create(**params)
    return completion.choices[0].message, completion.usage


def test_fine_tuning_for_function_calling(client, tmp_path):
    training_list_total = []
    for prompt, name, arguments in DRONE_CALLS * 2:
        tool_calls = [
            {
                "id": "call_id",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ]
        training_list_total.append(
            {
                "messages": [
                    {"role": "system", "content": DRONE_SYSTEM},
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "tool_calls": tool_calls},
                ],
                "parallel_tool_calls": False,
                "tools": FUNCTION_LIST,
            }
        )
    training_file = tmp_path / "drone_training.jsonl"
    with open(training_file, "w") as f:
        for item in training_list_total:
            json_str = json.dumps(item)
            f.write(f"{json_str}\n")

    file = client.files.create(file=open(training_file, "rb"), purpose="fine-tune")  # noqa: SIM115 (as the notebook)
    ft = client.fine_tuning.jobs.create(
        model="gpt-3.5-turbo",
        training_file=file.id,
        suffix="drone",
        method={"type": "supervised", "supervised": {"hyperparameters": ONE_STEP}},
    )
    ft_model = wait_for_job(client, ft.id).fine_tuned_model
    assert ":drone:" in ft_model

    fine_tune_results = client.fine_tuning.jobs.retrieve(ft.id).result_files
    result_file_id = client.files.retrieve(fine_tune_results[0]).id
    result_file = client.files.content(file_id=result_file_id)
    decoded_content = base64.b64decode(result_file.read()).decode("utf-8")
    assert decoded_content.startswith("step,train_loss,train_accuracy,")

    for prompt in ["Land the drone at the home base", "Enable stealth mode"]:
        messages = [{"role": "system", "content": DRONE_SYSTEM}, {"role": "user", "content": prompt}]
        completion, usage = get_chat_completion(
            client, messages, ft_model, seed=42, tools=FUNCTION_LIST, temperature=0.0, tool_choice="required"
        )
        assert completion.tool_calls[0].function.name in DRONE_FUNCTIONS
        assert isinstance(json.loads(completion.tool_calls[0].function.arguments), dict)
        assert isinstance(usage.total_tokens, int) and usage.total_tokens > 0


# Fine_tuning_direct_preference_optimization_guide ------------------------------------------------

SUPPORT_SYSTEM = "You are a customer-support assistant."
SUPPORT_PROMPTS = [
    "Hi, I ordered a gadget last week. When will it arrive?",
    "Your product stopped working after two days. Can I get help?",
    "Do you offer discounts for long-term customers?",
    "Can I change the shipping address for my order?",
    "What is your return policy for damaged items?",
]


def test_fine_tuning_with_dpo(client):
    pairs = [
        {
            "input": {
                "messages": [
                    {"role": "system", "content": SUPPORT_SYSTEM},
                    {"role": "user", "content": prompt},
                ]
            },
            "preferred_output": [
                {"role": "assistant", "content": "Hey there, awesome friend! I'd LOVE to help you with that!"}
            ],
            "non_preferred_output": [{"role": "assistant", "content": "Provide your order number."}],
        }
        for prompt in SUPPORT_PROMPTS * 2
    ]
    train_buf = io.BytesIO("\n".join(json.dumps(p) for p in pairs).encode())
    train_buf.name = "train.jsonl"
    train_file_id = client.files.create(file=train_buf, purpose="fine-tune").id
    val_buf = io.BytesIO("\n".join(json.dumps(p) for p in pairs[:2]).encode())
    val_buf.name = "val.jsonl"
    val_file_id = client.files.create(file=val_buf, purpose="fine-tune").id

    ft = client.fine_tuning.jobs.create(
        model="gpt-4.1-mini-2025-04-14",
        training_file=train_file_id,
        validation_file=val_file_id,
        method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 1, "beta": 0.1, "batch_size": 10}}},
    )
    job = wait_for_job(client, ft.id)
    assert job.method.type == "dpo" and job.method.dpo.hyperparameters.beta == 0.1

    resp = client.responses.create(
        model=job.fine_tuned_model,
        input=[
            {"role": "system", "content": SUPPORT_SYSTEM},
            {"role": "user", "content": "Can I upgrade to faster delivery?"},
        ],
        temperature=0.0,
        max_output_tokens=40,
    )
    assert resp.status in {"completed", "incomplete"} and resp.model == job.fine_tuned_model
    assert isinstance(resp.output_text, str) and resp.output_text.strip()


# Leveraging_model_distillation_to_fine-tune_a_model ----------------------------------------------

VARIETIES = ["Pinot Noir", "Chardonnay", "Riesling", "Malbec"]
WINES = [
    ("Domaine Serene", "Oregon", "Bright cherry and earth, silky tannins."),
    ("Kistler", "California", "Buttery, with toasted oak and ripe apple."),
    ("Dr. Loosen", "Mosel", "Petrol, lime and a racy acidity."),
    ("Catena", "Mendoza", "Dark plum, violet and a firm structure."),
    ("Cloudy Bay", "Marlborough", "Pear and citrus, a creamy finish."),
]
WINE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "grape-variety",
        "schema": {
            "type": "object",
            "properties": {"variety": {"type": "string", "enum": VARIETIES}},
            "additionalProperties": False,
            "required": ["variety"],
        },
        "strict": True,
    },
}


def wine_prompt(winery: str, region: str, description: str) -> str:
    return (
        "Based on this wine review, guess the grape variety:\n"
        f"This wine is produced by {winery} in the {region} region.\n"
        f"Here is a description of the wine: {description}\n"
        f"Pick one of the following options: {', '.join(VARIETIES)}"
    )


def call_model(client, model: str, prompt: str, store: bool = False, metadata: dict | None = None) -> str:
    response = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        store=store,
        metadata=metadata,
        response_format=WINE_FORMAT,
        temperature=0,
        max_tokens=24,
    )
    return json.loads(response.choices[0].message.content.strip())["variety"]


def test_leveraging_model_distillation(client, server):
    run = f"wine-gpt4o-{time.time_ns()}"
    teacher = [
        call_model(client, "gpt-4o", wine_prompt(*wine), True, {"distillation": run}) for wine in WINES
    ]
    assert all(variety in VARIETIES for variety in teacher)
    call_model(client, "gpt-4o-mini", wine_prompt(*WINES[0]), True, {"distillation": f"{run}-mini"})

    stored = client.chat.completions.list(metadata={"distillation": run}, limit=100)
    assert len(stored.data) == len(WINES) and all(c.metadata == {"distillation": run} for c in stored.data)
    assert sorted(json.loads(c.choices[0].message.content)["variety"] for c in stored.data) == sorted(teacher)

    # The SDK types a stored message's role as "assistant" only; the request's roles come back.
    with sync_client(server.url, strict=False) as loose:
        rows = [
            {
                "messages": [
                    *[
                        {"role": m.role, "content": m.content}
                        for m in loose.chat.completions.messages.list(c.id)
                    ],
                    {"role": "assistant", "content": c.choices[0].message.content},
                ]
            }
            for c in stored.data
        ]
    assert all(row["messages"][0]["role"] == "user" for row in rows)
    training = client.files.create(
        file=("distillation.jsonl", io.BytesIO("".join(json.dumps(r) + "\n" for r in rows * 2).encode())),
        purpose="fine-tune",
    )
    job = client.fine_tuning.jobs.create(
        training_file=training.id,
        model="gpt-4o-mini-2024-07-18",
        suffix="distillation",
        method={"type": "supervised", "supervised": {"hyperparameters": ONE_STEP}},
    )
    student = wait_for_job(client, job.id).fine_tuned_model
    assert call_model(client, student, wine_prompt(*WINES[1])) in VARIETIES


# Structured Outputs on a fine-tuned model --------------------------------------------------------


class CapitalInfo(BaseModel):
    country: Literal["France", "Germany", "Spain", "Italy", "Portugal"]
    capital: Literal["Paris", "Berlin", "Madrid", "Rome", "Lisbon"]
    is_coastal: bool


CAPITALS = [
    ("France", "Paris", False),
    ("Germany", "Berlin", False),
    ("Spain", "Madrid", False),
    ("Italy", "Rome", True),
    ("Portugal", "Lisbon", True),
]
EXTRACT_SYSTEM = "Extract the country, its capital and whether the capital is on the coast, as JSON."


def test_structured_outputs_on_a_fine_tuned_model(client):
    rows = [
        {
            "messages": [
                {"role": "system", "content": EXTRACT_SYSTEM},
                {"role": "user", "content": f"The capital of {country} is {city}."},
                {
                    "role": "assistant",
                    "content": json.dumps({"country": country, "capital": city, "is_coastal": coastal}),
                },
            ]
        }
        for country, city, coastal in CAPITALS * 2
    ]
    file = client.files.create(
        file=("extract.jsonl", io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())),
        purpose="fine-tune",
    )
    job = client.fine_tuning.jobs.create(
        training_file=file.id,
        model="gpt-4o-mini-2024-07-18",
        suffix="extract",
        method={"type": "supervised", "supervised": {"hyperparameters": ONE_STEP}},
    )
    model = wait_for_job(client, job.id).fine_tuned_model
    messages = [
        {"role": "system", "content": EXTRACT_SYSTEM},
        {"role": "user", "content": "Lisbon is the capital of Portugal."},
    ]

    schema = CapitalInfo.model_json_schema()
    schema["additionalProperties"] = False
    response = client.chat.completions.create(
        model=model,
        messages=messages,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "capital_info", "schema": schema, "strict": True},
        },
        temperature=0,
        max_tokens=60,
    )
    extracted = json.loads(response.choices[0].message.content)
    assert CapitalInfo.model_validate(extracted) and set(extracted) == {"country", "capital", "is_coastal"}

    completion = client.chat.completions.parse(
        model=model, messages=messages, response_format=CapitalInfo, temperature=0, max_tokens=60
    )
    message = completion.choices[0].message
    assert message.refusal is None and isinstance(message.parsed, CapitalInfo)
    beta = client.beta.chat.completions.parse(model=model, messages=messages, response_format=CapitalInfo)
    assert isinstance(beta.choices[0].message.parsed, CapitalInfo)


# reinforcement_fine_tuning -----------------------------------------------------------------------

RFT_SYSTEM = "Answer with exactly one phrase: the capital city asked for."
RFT_QUESTIONS = [
    ("What is the capital of France?", "Paris"),
    ("Which city is the capital of Italy?", "Rome"),
    ("Name the capital of Spain.", "Madrid"),
    ("What is the capital of Germany?", "Berlin"),
    ("Which city is Portugal's capital?", "Lisbon"),
    ("What is the capital of Austria?", "Vienna"),
    ("Which city is the capital of Greece?", "Athens"),
    ("Name the capital of Ireland.", "Dublin"),
    ("What is Norway's capital?", "Oslo"),
    ("Which city is the capital of Poland?", "Warsaw"),
    ("What is the capital of Hungary?", "Budapest"),
    ("Name the capital of Finland.", "Helsinki"),
]


def capital_grader(sample: dict, item: dict) -> float:
    """1 if the reference city is in the answer, else 0."""
    return float(item["reference_answer"].lower() in sample["output_text"].lower())


def build_python_grader_payload(grader_fn) -> dict:
    grader_source = inspect.getsource(grader_fn)
    grader_source = grader_source.replace(grader_fn.__name__, "grade", 1)  # the function must be `grade`
    return {"type": "python", "source": grader_source}


def test_reinforcement_fine_tuning(make_server):
    from openft.config import BUILTIN_MODEL, BaseModelConfig

    # A server of its own whose 64-token window cuts each sample at about 30 tokens (the prompts
    # are ~30): twenty samples a step at the "low" effort's 128 tokens take minutes on a CPU.
    short = {BUILTIN_MODEL: BaseModelConfig(context_length=64)}
    server = make_server(builtin=True, embedded_worker=True, worker_poll_seconds=0.2, base_models=short)
    with sync_client(server.url, timeout=600) as client:
        rft_flow(client)


def rft_flow(client) -> None:
    grader = {
        "name": "capital_grader",
        "image_tag": "2025-05-08",
        **build_python_grader_payload(capital_grader),
    }
    validated = client.fine_tuning.alpha.graders.validate(grader=grader)
    assert validated.grader.type == "python"
    graded = client.fine_tuning.alpha.graders.run(
        grader=grader, model_sample="Paris.", item={"reference_answer": "Paris"}
    )
    assert graded.reward == 1.0 and isinstance(graded.metadata.errors.python_grader_runtime_error, bool)

    def row(question: str, city: str) -> dict:
        return {
            "messages": [{"role": "developer", "content": RFT_SYSTEM}, {"role": "user", "content": question}],
            "reference_answer": city,
        }

    train = "\n".join(json.dumps(row(*q)) for q in RFT_QUESTIONS[:10]).encode()
    valid = "\n".join(json.dumps(row(*q)) for q in RFT_QUESTIONS[10:]).encode()
    train_file_id = client.files.create(file=("train.jsonl", train), purpose="fine-tune").id
    test_file_id = client.files.create(file=("val.jsonl", valid), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(
        training_file=train_file_id,
        validation_file=test_file_id,
        model="o4-mini-2025-04-16",
        suffix="capitals",
        method=dict(
            type="reinforcement",
            reinforcement=dict(
                grader=grader,
                response_format=None,
                hyperparameters=dict(
                    compute_multiplier=0.5,
                    eval_samples=1,
                    eval_interval=1,
                    n_epochs=1,
                    batch_size=10,
                    reasoning_effort="low",
                ),
            ),
        ),
        seed=42,
    )
    fine_tuned_model_id = wait_for_job(client, job.id).fine_tuned_model

    response = client.responses.create(
        model=fine_tuned_model_id,
        input=[
            {"role": "developer", "content": RFT_SYSTEM},
            {"role": "user", "content": RFT_QUESTIONS[5][0]},
        ],
        reasoning={"effort": "low"},
        max_output_tokens=24,
    )
    assert isinstance(response.output_text, str) and response.output_text.strip()
    assert client.fine_tuning.alpha.graders.run(
        grader=grader, model_sample=response.output_text, item={"reference_answer": "Vienna"}
    ).reward in (0.0, 1.0)
