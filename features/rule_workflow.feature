Feature: Marketing takes a rule change from idea to every till, with a second pair of eyes
  A change starts as a draft: uploaded, checked at once, with a note saying what
  it is for. Where the programme asks for approval, the person who wrote or
  submitted a draft cannot approve it: a marketing lead or an administrator who
  did not write it does. An approved change goes live now or at a stated
  instant, at every till at once. Any earlier version can be brought back in one
  step, exactly as it was, and the audit log shows who changed what, when and why.

  Background:
    Given the standard programme rules are in force, with approval required
    And Ann is a member with her 100 welcome points to spend
    And Mei works in marketing, Li and Wang are marketing leads

  Scenario: A marketer drafts a weekend campaign, a colleague approves it, it starts at midnight at every till
    Given it is Friday 18:00
    When Mei drafts "weekend double points on appliances" with the note "Double points this weekend"
    Then the draft has no problems
    And Mei submits the draft
    And Li approves the draft
    And Mei schedules the draft for Saturday 00:00 with the reason "weekend campaign"
    Then the schedule shows the new version taking over on Saturday 00:00
    When it is Friday 23:59:59
    And Ann buys a refrigerator for 3999.00
    Then Ann earns 3999 points
    When it is Saturday 00:00:00
    And Ann buys a refrigerator for 3999.00
    Then Ann earns 7998 points
    And the receipt names the scheduled version

  Scenario: Nobody approves their own change
    When Li drafts "weekend double points on appliances" with the note "Double points this weekend"
    And Li submits the draft
    And Li approves the draft
    Then the approval is refused because Li wrote the change
    And the draft is still waiting for approval
    And the audit shows the refusal by Li with its reason
    When Mei activates the draft now with the reason "cannot wait"
    Then the activation is refused because it has not been approved
    When Wang approves the draft
    And Mei activates the draft now with the reason "approved by Wang"
    Then the rules in force are version 2

  Scenario: A draft with a mistake is kept, with each problem, and cannot be submitted
    When Mei drafts a weekend campaign that names the tier "glod"
    Then the draft lists the problem with its file, line and rule id
    And submitting the draft is refused until the mistake is fixed
    When Mei replaces the draft's files with the corrected campaign
    Then the draft has no problems

  Scenario: Rolling back restores exactly the previous rules
    Given Mei's weekend campaign was approved by Li and is in force as version 2
    When Li rolls back to version 1 with the reason "the campaign cost too much"
    Then the rules in force are version 3
    And version 3 has the same content hash as version 1
    And the change lists the weekend rule as removed
    When Ann buys a refrigerator for 3999.00
    Then Ann earns 3999 points

  Scenario: The audit shows who changed what, when and why
    Given Mei's weekend campaign was approved by Li and is in force as version 2
    When an administrator reads the audit log
    Then it lists, newest first, the activation by Mei with its reason and the rule it added
    And the approval by Li, the submission by Mei and the draft by Mei
    And marketing sees the same rule events but not who created API keys
