package convnet;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/** A test (class) that needs ../shared (caltech photos, torchvision fixtures): skipped, with the reason, where it is absent. */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(NeedsSharedData.Condition.class)
public @interface NeedsSharedData {
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return TestData.sharedPresent()
                    ? ConditionEvaluationResult.enabled("../shared is present")
                    : ConditionEvaluationResult.disabled(TestData.ABSENT);
        }
    }
}
