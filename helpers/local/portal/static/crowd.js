// The local labeling portal's stand-ins for Ground Truth's crowd HTML elements.
// Written for this walkthrough (the real crowd-html-elements.js cannot be loaded offline); it
// covers <crowd-form> and <crowd-image-classifier> (src, header, categories, name,
// <short-instructions>, <full-instructions>, keyboard choice 1..9, Submit). The answer posted
// is what the real elements give: {"<name of the element>": {"label": "<category>"}}.
(function () {
  "use strict";
  var task = document.getElementById("task");
  var answerForm = document.getElementById("answer-form");
  var problem = document.getElementById("crowd-error");
  if (!task) {
    return;
  }
  var supported = task.getAttribute("data-supported") === "yes" && answerForm !== null;
  var classifiers = [];

  function say(text) {
    problem.textContent = text;
    problem.hidden = false;
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function build(element, number) {
    var name = element.getAttribute("name") || "";
    var categories = [];
    try {
      categories = JSON.parse(element.getAttribute("categories") || "[]");
    } catch (error) {
      say("The categories attribute of <crowd-image-classifier> is not JSON: " + error.message);
    }
    var shortInstructions = element.querySelector("short-instructions");
    var fullInstructions = element.querySelector("full-instructions");
    var box = make("div", "classifier");
    box.appendChild(make("h2", "header", element.getAttribute("header") || ""));
    var row = make("div", "row");
    var picture = make("div", "picture");
    var image = make("img", "task-image");
    image.crossOrigin = "anonymous"; // as the real element: the bucket's CORS rule applies
    image.alt = "The picture to label";
    image.addEventListener("load", function () {
      image.setAttribute("data-state", "loaded");
    });
    image.addEventListener("error", function () {
      image.setAttribute("data-state", "failed");
      say(
        "The picture could not be loaded from S3. A bucket without the CORS rule Ground Truth " +
          "needs (GET from any origin) blocks it here as in the real portal; the setup checks " +
          "of notebook 02 show the fix."
      );
    });
    image.src = element.getAttribute("src") || "";
    picture.appendChild(image);
    row.appendChild(picture);
    var choices = make("fieldset", "categories");
    choices.appendChild(make("legend", "", "Choose a category"));
    var group = "category-" + number;
    categories.forEach(function (category, index) {
      var label = make("label", "category");
      var input = make("input");
      input.type = "radio";
      input.name = group;
      input.value = String(category);
      input.id = group + "-" + index;
      label.appendChild(input);
      if (index < 9) {
        label.appendChild(make("kbd", "", String(index + 1)));
      }
      label.appendChild(make("span", "category-name", String(category)));
      choices.appendChild(label);
    });
    row.appendChild(choices);
    var aside = make("aside", "instructions");
    if (shortInstructions) {
      aside.appendChild(make("h3", "", "Instructions"));
      aside.appendChild(shortInstructions);
    }
    if (fullInstructions) {
      var details = make("details", "full");
      details.appendChild(
        make("summary", "", fullInstructions.getAttribute("header") || "View full instructions")
      );
      details.appendChild(fullInstructions);
      aside.appendChild(details);
    }
    row.appendChild(aside);
    box.appendChild(row);
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
    element.appendChild(box);
    return {
      name: name,
      categories: categories,
      choices: choices,
      chosen: function () {
        var checked = choices.querySelector("input:checked");
        return checked ? checked.value : null;
      },
      choose: function (index) {
        var input = choices.querySelectorAll("input")[index];
        if (input) {
          input.checked = true;
          input.focus();
        }
      },
    };
  }

  function submit() {
    if (!supported) {
      return;
    }
    var answer = {};
    for (var i = 0; i < classifiers.length; i += 1) {
      var chosen = classifiers[i].chosen();
      if (chosen === null) {
        say("Choose a category first (click it, or press its number key).");
        return;
      }
      answer[classifiers[i].name] = { label: chosen };
    }
    document.getElementById("answer").value = JSON.stringify(answer);
    answerForm.submit();
  }

  document.querySelectorAll("crowd-image-classifier").forEach(function (element, number) {
    classifiers.push(build(element, number));
  });
  var forms = document.querySelectorAll("crowd-form");
  if (supported && forms.length === 0) {
    say("The template has no <crowd-form>: nothing can submit its answer.");
  }
  forms.forEach(function (crowdForm) {
    var button = make("button", "submit", "Submit");
    button.type = "button";
    button.id = "submit-answer";
    button.disabled = !supported;
    button.addEventListener("click", submit);
    crowdForm.appendChild(button);
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.type === "text");
    if (typing || event.altKey || event.ctrlKey || event.metaKey || !classifiers.length) {
      return;
    }
    if (event.key >= "1" && event.key <= "9") {
      classifiers[0].choose(Number(event.key) - 1);
      event.preventDefault();
    } else if (event.key === "Enter" && !/^(BUTTON|A|SUMMARY)$/.test(target.tagName)) {
      submit();
      event.preventDefault();
    }
  });
})();
